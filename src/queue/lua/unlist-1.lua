--[[
  Takes a concert off the list of live ones, unless it was listed again since its line was found
  empty: an entry made since then raised the generation the join lists it under.
    KEYS[1] live  ZSET concertId -> generation of its line when last listed
    ARGV[1] concertId
    ARGV[2] the generation of the line when it was found empty
  Returns 1 if it was taken off, else 0
]]
local listed = redis.call('ZSCORE', KEYS[1], ARGV[1])
if listed and tonumber(listed) <= tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
