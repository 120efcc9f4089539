-- Ends a token: removes its place or slot and remembers why it ended. Needs the script's locals
-- entriesKey, usersKey, waitingKey, seenKey, activeKey, maxUntilKey, endedKey, reasonsKey.
local function forget(token, reason, now)
  local entry = redis.call('HGET', entriesKey, token)
  if not entry then return end
  local user = string.match(entry, '^([^|]*)|')
  if redis.call('HGET', usersKey, user) == token then
    redis.call('HDEL', usersKey, user)
  end
  redis.call('HDEL', entriesKey, token)
  redis.call('ZREM', waitingKey, token)
  redis.call('ZREM', seenKey, token)
  redis.call('ZREM', activeKey, token)
  redis.call('HDEL', maxUntilKey, token)
  redis.call('ZADD', endedKey, now, token)
  redis.call('HSET', reasonsKey, token, reason)
end
