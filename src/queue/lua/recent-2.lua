--[[
  The pace of admission, for the wait estimates: cheap, read after every tick.
    KEYS[1] admitted  ZSET "token|waitMs" -> admitted at (ms)
    KEYS[2] active    ZSET token -> active until (ms)
    ARGV[1] now (ms)
    ARGV[2] since (ms): the last minute's admissions are those after it
  Returns {admittedLastMinute, firstAdmittedAt (-1: none), active}
]]
local now = tonumber(ARGV[1])
local from = '(' .. ARGV[2]
local active = redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[1], '+inf')
local count = redis.call('ZCOUNT', KEYS[1], from, now)
if count == 0 then return {0, -1, active} end
local first = redis.call('ZRANGEBYSCORE', KEYS[1], from, now, 'WITHSCORES', 'LIMIT', 0, 1)
return {count, tonumber(first[2]), active}
