--[[
  The queue's figures for operators.
    KEYS[1] seen      ZSET token -> last poll (ms), waiting tokens only
    KEYS[2] active    ZSET token -> active until (ms)
    KEYS[3] admitted  ZSET "token|waitMs" -> admitted at (ms)
    ARGV[1] now (ms)
    ARGV[2] staleBefore
    ARGV[3] since (ms): the last minute's admissions are those after it
  Returns {waiting, active, admittedLastMinute, p50WaitMs (-1: none)}
]]
local now = tonumber(ARGV[1])
local waiting = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf')
local active = redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[1], '+inf')
local recent = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[3], now)
local waits = {}
for i = 1, #recent do
  -- A wait recorded by an older version may be negative: it counts as none.
  waits[i] = math.max(0, tonumber(string.match(recent[i], '|(-?%d+)$')))
end
local p50 = -1
if #waits > 0 then
  table.sort(waits)
  local mid = (#waits + 1) / 2
  p50 = (waits[math.floor(mid)] + waits[math.ceil(mid)]) / 2
end
return {waiting, active, #waits, p50}
