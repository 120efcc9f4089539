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
-- The concert's keys by name, for the includes, which take them as their first argument.
local line = {
  active = KEYS[1], maxUntil = KEYS[2], waiting = KEYS[3], seen = KEYS[4], reasons = KEYS[5],
}
-- @include "state"

local out = {}
for i = 1, #ARGV, 2 do
  out[#out + 1] = stateOf(line, ARGV[i], tonumber(ARGV[i + 1]), false)
end
return out
