--[[
  The last minute's admissions, for the observed admission rate: cheap, read after every tick.
    KEYS: the concert's keys (see includes/common.lua)
    ARGV[1] now (ms)
  Returns {admittedLastMinute, firstAdmittedAt (-1: none)}
]]
-- @include "common"
local now = tonumber(ARGV[1])
local from = '(' .. (now - 60000)
local count = redis.call('ZCOUNT', admittedKey, from, now)
local first = redis.call('ZRANGEBYSCORE', admittedKey, from, now, 'WITHSCORES', 'LIMIT', 0, 1)
if count == 0 then return {0, -1} end
return {count, tonumber(first[2])}
