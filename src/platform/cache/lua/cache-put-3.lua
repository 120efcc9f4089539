--[[
  Stores a loaded value unless the key was invalidated since the load began, and frees the lock.
    KEYS[1] value  KEYS[2] generation  KEYS[3] load lock
    ARGV[1] value
    ARGV[2] the generation read before loading
    ARGV[3] time to live (ms)
  Returns 1 if stored, 0 if the load was already stale
]]
redis.call('DEL', KEYS[3])
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
