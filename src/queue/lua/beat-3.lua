--[[
  Heartbeats, one run a tick for every poll a process answered from its copy of the line
  (relief.ts): each fan still in line is seen at its poll's time; a fan who left or was admitted
  meanwhile is not put back (XX: only tokens still in `seen`), and one past the waiting idle limit
  is left to end as the status script or the tick ends it. Then the line's counts, read as of this step.
    KEYS[1] seen         ZSET token -> last poll (ms), waiting tokens only
    KEYS[2] counts       HASH what the scripts count of the line (includes/counts.lua)
    KEYS[3] joinSeconds  HASH second -> arrival-ordered joins made in it (includes/counts.lua)
    ARGV: 3 per heartbeat: tokenId, its poll's time (ms), staleBefore at that time
  Returns {front, left, unordered, {tokens no longer in line}, {second, joins, second, joins, ...}}
]]
local gone = {}
if #ARGV > 0 then
  local tokens = {}
  for i = 1, #ARGV, 3 do tokens[#tokens + 1] = ARGV[i] end
  local seen = redis.call('ZMSCORE', KEYS[1], unpack(tokens))
  local beats = {}
  for j = 1, #tokens do
    local i = (j - 1) * 3 + 1
    local last = seen[j] and tonumber(seen[j])
    if last and last > tonumber(ARGV[i + 2]) then
      beats[#beats + 1] = ARGV[i + 1]
      beats[#beats + 1] = ARGV[i]
    else
      gone[#gone + 1] = ARGV[i]
    end
  end
  if #beats > 0 then redis.call('ZADD', KEYS[1], 'XX', 'GT', unpack(beats)) end
end
local counts = redis.call('HMGET', KEYS[2], 'front', 'left', 'unordered')
return {
  tonumber(counts[1] or '0'), tonumber(counts[2] or '0'), tonumber(counts[3] or '0'),
  gone, redis.call('HGETALL', KEYS[3]),
}
