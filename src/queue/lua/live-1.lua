--[[
  The concerts listed as live: someone may be in their line.
    KEYS[1] live  ZSET concertId -> generation of its line when last listed
  Returns {concertId, generation, concertId, generation, ...}
]]
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
