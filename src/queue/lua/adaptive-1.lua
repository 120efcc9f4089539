--[[
  A concert's last adaptive decision.
    KEYS[1] adaptive  HASH "window" -> the last window taken, "decision" -> the decision on it (JSON)
  Returns the decision (JSON), or nil before any
]]
return redis.call('HGET', KEYS[1], 'decision')
