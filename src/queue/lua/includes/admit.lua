-- Admits the next in line: at most `perTick` (-1: no limit), keeping at most `cap` active (-1: no
-- limit). Waiting entries that stopped polling are ended (forget), not admitted. `line` holds the
-- concert's keys by name; this writes waiting, seen, active, maxUntil, admitted, counts (the fans taken
-- off the front, includes/counts.lua), and forget's keys.
local function admit(line, now, perTick, cap, idleMs, maxMs, staleBefore)
  local n = perTick
  if n < 0 then n = 1e15 end
  if cap >= 0 then
    n = math.min(n, cap - redis.call('ZCOUNT', line.active, '(' .. now, '+inf'))
  end
  local admitted = 0
  local activeUntil = now + math.min(idleMs, maxMs)
  while admitted < n do
    local popped = redis.call('ZPOPMIN', line.waiting, math.min(n - admitted, 1000))
    if #popped == 0 then break end
    redis.call('HINCRBY', line.counts, 'front', #popped / 2)
    for i = 1, #popped, 2 do
      local token = popped[i]
      local seen = tonumber(redis.call('ZSCORE', line.seen, token))
      redis.call('ZREM', line.seen, token)
      if seen == nil or seen <= staleBefore then
        forget(line, token, 'WAITING_IDLE', now)
      else
        redis.call('ZADD', line.active, activeUntil, token)
        redis.call('HSET', line.maxUntil, token, now + maxMs)
        local joinedAt = tonumber(string.match(redis.call('HGET', line.entries, token), '^[^|]*|(%d+)|'))
        -- The wait is never negative, even when the admitting process's clock is behind the joiner's.
        redis.call('ZADD', line.admitted, now, token .. '|' .. math.max(0, now - joinedAt))
        admitted = admitted + 1
      end
    end
  end
  return admitted
end
