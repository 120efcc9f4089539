--[[
  A status poll: where the token stands; a waiting entry is marked as seen now.
    KEYS: the concert's keys (see includes/common.lua)
    ARGV[1] tokenId
    ARGV[2] now (ms)
    ARGV[3] staleBefore
  Returns {'W', position} | {'A', activeUntil} | {'E'}
]]
-- @include "common"
local token, now = ARGV[1], tonumber(ARGV[2])
local state = stateOf(token, now, tonumber(ARGV[3]), true)
if state[1] == 'W' then redis.call('ZADD', seenKey, 'XX', now, token) end
return state
