--[[
  The adaptive controller's turn at a window of a concert: the first caller for the window (or a
  later one) claims it and gets its merged booking health, the admissions during the window and
  the line's length now; every other caller, in any process, gets nothing.
    KEYS[1] adaptive  HASH "window" -> the last window taken, "decision" -> the decision on it (JSON)
    KEYS[2] health    HASH of the window (health-add-1.lua)
    KEYS[3] admitted  ZSET "token|waitMs" -> admitted at (ms)
    KEYS[4] waiting   ZSET token -> order key
    ARGV[1] window
    ARGV[2] from (ms), ARGV[3] until (ms): the window's span, until excluded
    ARGV[4] keepMs: how long the controller's state is kept after its last use
  Returns {} when the window is taken already, else {admitted, waiting, errors, served, bucket, answers, ...}
]]
local taken = tonumber(redis.call('HGET', KEYS[1], 'window') or '-1')
if taken >= tonumber(ARGV[1]) then return {} end
redis.call('HSET', KEYS[1], 'window', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local result = {
  redis.call('ZCOUNT', KEYS[3], ARGV[2], '(' .. ARGV[3]),
  redis.call('ZCARD', KEYS[4]),
  tonumber(redis.call('HGET', KEYS[2], 'errors') or '0'),
  tonumber(redis.call('HGET', KEYS[2], 'served') or '0'),
}
local counts = redis.call('HGETALL', KEYS[2])
for i = 1, #counts, 2 do
  if counts[i] ~= 'errors' and counts[i] ~= 'served' then
    result[#result + 1] = tonumber(counts[i])
    result[#result + 1] = tonumber(counts[i + 1])
  end
end
return result
