--[[
  A slice of a concert's waiting line, for a process's copy of it (relief.ts): the entries after the
  last one copied, with how many wait ahead of the slice's first, the line's counts and each recent
  second's joins, all as of this one step.
    KEYS[1] waiting      ZSET token -> order key
    KEYS[2] counts       HASH what the scripts count of the line (includes/counts.lua)
    KEYS[3] joinSeconds  HASH second -> arrival-ordered joins made in it (includes/counts.lua)
    ARGV[1] the last token copied ('': the slice starts the copy)
    ARGV[2] its order key
    ARGV[3] the most entries to take
  Returns {ahead, front, left, unordered, {second, joins, ...}, token, order key, token, order key, ...}
]]
local ahead = 0
if ARGV[1] ~= '' then
  local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
  -- Gone since: the slice starts at the first entry sorting after its order key (an entry of the
  -- same key sorting after it is then left out of the copy, which places it by no other means).
  if rank then ahead = rank + 1 else ahead = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[2]) end
end
local counts = redis.call('HMGET', KEYS[2], 'front', 'left', 'unordered')
local out = {
  ahead, tonumber(counts[1] or '0'), tonumber(counts[2] or '0'), tonumber(counts[3] or '0'),
  redis.call('HGETALL', KEYS[3]),
}
local entries = redis.call('ZRANGE', KEYS[1], ahead, ahead + tonumber(ARGV[3]) - 1, 'WITHSCORES')
for i = 1, #entries do out[#out + 1] = entries[i] end
return out
