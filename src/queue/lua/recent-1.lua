--[[
  The last minute's admissions, for the observed admission rate: cheap, read after every tick.
    KEYS[1] admitted  ZSET "token|waitMs" -> admitted at (ms)
    ARGV[1] now (ms)
  Returns {admittedLastMinute, firstAdmittedAt (-1: none)}
]]
local now = tonumber(ARGV[1])
local from = '(' .. (now - 60000)
local count = redis.call('ZCOUNT', KEYS[1], from, now)
if count == 0 then return {0, -1} end
local first = redis.call('ZRANGEBYSCORE', KEYS[1], from, now, 'WITHSCORES', 'LIMIT', 0, 1)
return {count, tonumber(first[2])}
