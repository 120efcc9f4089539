-- Ends a token: removes its place or slot and remembers why it ended. `line` holds the concert's
-- keys by name; this writes entries, users, waiting, seen, active, maxUntil, ended, reasons, and
-- counts a fan who leaves the line otherwise than from its front (includes/counts.lua).
local function forget(line, token, reason, now)
  local entry = redis.call('HGET', line.entries, token)
  if not entry then return end
  local user = string.match(entry, '^([^|]*)|')
  if redis.call('HGET', line.users, user) == token then
    redis.call('HDEL', line.users, user)
  end
  redis.call('HDEL', line.entries, token)
  if redis.call('ZREM', line.waiting, token) == 1 then redis.call('HINCRBY', line.counts, 'left', 1) end
  redis.call('ZREM', line.seen, token)
  redis.call('ZREM', line.active, token)
  redis.call('HDEL', line.maxUntil, token)
  redis.call('ZADD', line.ended, now, token)
  redis.call('HSET', line.reasons, token, reason)
end
