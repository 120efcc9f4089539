--[[
  Where tokens stand, many in one run, changing nothing.
    KEYS[1] active    ZSET token -> active until (ms)
    KEYS[2] maxUntil  HASH token -> hard limit of the admission (ms)
    KEYS[3] waiting   ZSET token -> order key
    KEYS[4] seen      ZSET token -> last poll (ms)
    KEYS[5] reasons   HASH token -> why it ended
    ARGV: 2 per token: tokenId, now (ms)
  Returns per token {'W', position} | {'A', activeUntil} | {'X', reason}
]]
local activeKey, maxUntilKey, waitingKey, seenKey, reasonsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
-- @include "state"

local out = {}
for i = 1, #ARGV, 2 do
  out[#out + 1] = stateOf(ARGV[i], tonumber(ARGV[i + 1]), false)
end
return out
