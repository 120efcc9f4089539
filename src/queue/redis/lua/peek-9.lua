--[[
  Where tokens stand, many in one run, changing nothing.
    KEYS: the concert's keys (see includes/common.lua)
    ARGV: 2 per token: tokenId, now (ms)
  Returns per token {'W', position} | {'A', activeUntil} | {'E'}
]]
-- @include "common"
local out = {}
for i = 1, #ARGV, 2 do
  out[#out + 1] = stateOf(ARGV[i], tonumber(ARGV[i + 1]), false, false)
end
return out
