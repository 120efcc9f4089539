-- Admits the next in line: at most `perTick` (-1: no limit), keeping at most `cap` active (-1: no
-- limit). Waiting entries that stopped polling are ended, not admitted. Needs forget and the
-- script's locals waitingKey, seenKey, activeKey, maxUntilKey, entriesKey, admittedKey.
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
        forget(token, 'WAITING_IDLE', now)
      else
        redis.call('ZADD', activeKey, activeUntil, token)
        redis.call('HSET', maxUntilKey, token, now + maxMs)
        local joinedAt = tonumber(string.match(redis.call('HGET', entriesKey, token), '^[^|]*|(%d+)|'))
        -- The wait is never negative, even when the admitting process's clock is behind the joiner's.
        redis.call('ZADD', admittedKey, now, token .. '|' .. math.max(0, now - joinedAt))
        admitted = admitted + 1
      end
    end
  end
  return admitted
end
