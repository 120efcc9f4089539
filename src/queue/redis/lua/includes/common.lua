-- Shared by every waiting-room script. Every script takes the same KEYS, all of one concert
-- (one hash tag, so one Redis Cluster slot):
--   KEYS[1] waiting   ZSET token -> order key (pre-queue: random negative; then arrival sequence)
--   KEYS[2] seen      ZSET token -> last poll (ms), waiting tokens only
--   KEYS[3] active    ZSET token -> active until (ms)
--   KEYS[4] entries   HASH token -> "userId|joinedAt"
--   KEYS[5] users     HASH userId -> live token
--   KEYS[6] maxUntil  HASH token -> hard limit of the admission (ms)
--   KEYS[7] tick      STRING when admission last ran (ms)
--   KEYS[8] seq       STRING arrival sequence
--   KEYS[9] admitted  ZSET "token|waitMs" -> admitted at (ms), the last minute's admissions
local waitingKey, seenKey, activeKey, entriesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local usersKey, maxUntilKey, tickKey, seqKey, admittedKey = KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]

-- Removes every trace of a token.
local function forget(token)
  local entry = redis.call('HGET', entriesKey, token)
  if entry then
    local user = string.match(entry, '^(.*)|')
    if redis.call('HGET', usersKey, user) == token then
      redis.call('HDEL', usersKey, user)
    end
    redis.call('HDEL', entriesKey, token)
  end
  redis.call('ZREM', waitingKey, token)
  redis.call('ZREM', seenKey, token)
  redis.call('ZREM', activeKey, token)
  redis.call('HDEL', maxUntilKey, token)
end

-- Where a token stands: {'A', activeUntil} | {'W', position} | {'E'}. An entry past its
-- deadline has ended whether or not a loop has run; `clean` removes it on the way.
-- `staleBefore` (or false) is the last-seen time at or before which a waiting entry has ended.
local function stateOf(token, now, staleBefore, clean)
  local activeUntil = redis.call('ZSCORE', activeKey, token)
  if activeUntil then
    if tonumber(activeUntil) > now then
      return {'A', activeUntil}
    end
    if clean then forget(token) end
    return {'E'}
  end
  local rank = redis.call('ZRANK', waitingKey, token)
  if rank then
    local seen = tonumber(redis.call('ZSCORE', seenKey, token))
    if staleBefore and (seen == nil or seen <= staleBefore) then
      if clean then forget(token) end
      return {'E'}
    end
    return {'W', rank + 1}
  end
  return {'E'}
end

-- Ends up to `limit` waiting entries that stopped polling and admissions past their deadline.
local function endStale(now, staleBefore, limit)
  local ended = 0
  for _, token in ipairs(redis.call('ZRANGEBYSCORE', seenKey, '-inf', staleBefore, 'LIMIT', 0, limit)) do
    forget(token)
    ended = ended + 1
  end
  for _, token in ipairs(redis.call('ZRANGEBYSCORE', activeKey, '-inf', now, 'LIMIT', 0, limit)) do
    forget(token)
    ended = ended + 1
  end
  return ended
end

-- Admits the next in line: at most `perTick` (-1: no limit), keeping at most `cap` active (-1: no
-- limit). Waiting entries that stopped polling are dropped, not admitted.
local function admit(now, perTick, cap, idleMs, maxMs, staleBefore)
  local n = perTick
  if n < 0 then n = 1e15 end
  if cap >= 0 then
    n = math.min(n, cap - redis.call('ZCOUNT', activeKey, '(' .. now, '+inf'))
  end
  local admitted = 0
  local activeUntil = now + math.min(idleMs, maxMs)
  while admitted < n do
    local popped = redis.call('ZPOPMIN', waitingKey, math.min(n - admitted, 1000))
    if #popped == 0 then break end
    for i = 1, #popped, 2 do
      local token = popped[i]
      local seen = tonumber(redis.call('ZSCORE', seenKey, token))
      redis.call('ZREM', seenKey, token)
      if seen == nil or seen <= staleBefore then
        forget(token)
      else
        redis.call('ZADD', activeKey, activeUntil, token)
        redis.call('HSET', maxUntilKey, token, now + maxMs)
        local joinedAt = tonumber(string.match(redis.call('HGET', entriesKey, token), '|(%d+)$'))
        redis.call('ZADD', admittedKey, now, token .. '|' .. (now - joinedAt))
        admitted = admitted + 1
      end
    end
  end
  return admitted
end
