--[[
  Keeps the decision taken on a window of a concert, unless a later window has been taken since.
    KEYS[1] adaptive  HASH "window" -> the last window taken, "decision" -> the decision on it (JSON)
    ARGV[1] window
    ARGV[2] the decision (JSON)
    ARGV[3] keepMs: how long the controller's state is kept after its last use
  Returns 1 if kept, else 0
]]
if redis.call('HGET', KEYS[1], 'window') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'decision', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
