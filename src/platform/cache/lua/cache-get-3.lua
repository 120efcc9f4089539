--[[
  Reads a cached value; on a miss, tries to take the key's load lock so that one process loads.
    KEYS[1] value  KEYS[2] generation  KEYS[3] load lock
    ARGV[1] lock time (ms)
    ARGV[2] whether to try the lock (0|1)
  Returns {1, value} on a hit; {0, generation, gotLock (0|1)} on a miss
]]
local value = redis.call('GET', KEYS[1])
if value then return {1, value} end
local generation = redis.call('GET', KEYS[2]) or '0'
if ARGV[2] == '1' and redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then
  return {0, generation, 1}
end
return {0, generation, 0}
