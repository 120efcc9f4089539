--[[
  The queue's figures for operators and for the observed admission rate.
    KEYS: the concert's keys (see includes/common.lua)
    ARGV[1] now (ms)
    ARGV[2] staleBefore
  Returns {waiting, active, admittedLastMinute, p50WaitMs (-1: none)}
]]
-- @include "common"
local now = tonumber(ARGV[1])
local waiting = redis.call('ZCOUNT', seenKey, '(' .. ARGV[2], '+inf')
local active = redis.call('ZCOUNT', activeKey, '(' .. ARGV[1], '+inf')
local recent = redis.call('ZRANGEBYSCORE', admittedKey, '(' .. (now - 60000), now)
local waits = {}
for i = 1, #recent do
  waits[i] = tonumber(string.match(recent[i], '|(%d+)$'))
end
local p50 = -1
if #waits > 0 then
  table.sort(waits)
  local mid = (#waits + 1) / 2
  p50 = (waits[math.floor(mid)] + waits[math.ceil(mid)]) / 2
end
return {waiting, active, #waits, p50}
