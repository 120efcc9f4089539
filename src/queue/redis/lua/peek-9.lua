--[[
  Where the token stands, changing nothing.
    KEYS: the concert's keys (see includes/common.lua)
    ARGV[1] tokenId
    ARGV[2] now (ms)
  Returns {'W', position} | {'A', activeUntil} | {'E'}
]]
-- @include "common"
return stateOf(ARGV[1], tonumber(ARGV[2]), false, false)
