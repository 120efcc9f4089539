-- Where a token stands, and whether a deadline has ended it. `line` holds the concert's keys by
-- name (the script builds it from its KEYS); this reads active, maxUntil, waiting, seen, reasons.
--   {'A', activeUntil} | {'W', position} | {'X', reason}
-- The second result is true when the token has just been found past a deadline: the caller ends
-- it (forget) when it may write. `staleBefore` (or false) is the last-seen time at or before which
-- a waiting entry has ended.
local function stateOf(line, token, now, staleBefore)
  local activeUntil = redis.call('ZSCORE', line.active, token)
  if activeUntil then
    activeUntil = tonumber(activeUntil)
    if activeUntil > now then
      return {'A', activeUntil}, false
    end
    local reason = 'ACTIVE_IDLE'
    if activeUntil >= tonumber(redis.call('HGET', line.maxUntil, token) or '0') then reason = 'HARD_LIMIT' end
    return {'X', reason}, true
  end
  local rank = redis.call('ZRANK', line.waiting, token)
  if rank then
    local seen = tonumber(redis.call('ZSCORE', line.seen, token))
    if staleBefore and (seen == nil or seen <= staleBefore) then
      return {'X', 'WAITING_IDLE'}, true
    end
    return {'W', rank + 1}, false
  end
  return {'X', redis.call('HGET', line.reasons, token) or 'UNKNOWN'}, false
end
