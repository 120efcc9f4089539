--[[
  Status polls, many in one run: where each token stands; a waiting entry is marked as seen now.
    KEYS: the concert's keys (see includes/common.lua)
    ARGV: 3 per poll: tokenId, now (ms), staleBefore
  Returns per poll {'W', position} | {'A', activeUntil} | {'E'}
]]
-- @include "common"
local out = {}
for i = 1, #ARGV, 3 do
  local token, now = ARGV[i], tonumber(ARGV[i + 1])
  local state = stateOf(token, now, tonumber(ARGV[i + 2]), true)
  if state[1] == 'W' then redis.call('ZADD', seenKey, 'XX', now, token) end
  out[#out + 1] = state
end
return out
