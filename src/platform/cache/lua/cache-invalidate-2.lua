--[[
  Invalidates a key: a new generation (so a load begun before this is not stored) and no value.
    KEYS[1] value  KEYS[2] generation
  Returns the new generation
]]
local generation = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], 86400000)
redis.call('DEL', KEYS[1])
return generation
