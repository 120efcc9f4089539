--[[
  Lists concerts as live, each under its line's generation; a concert listed under a later one
  keeps that.
    KEYS[1] live  ZSET concertId -> generation of its line when last listed
    ARGV: 2 per concert: generation, concertId
  Returns how many concerts it was given
]]
for i = 1, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], 'GT', ARGV[i], ARGV[i + 1])
end
return #ARGV / 2
