-- Where a token stands, and whether a deadline has ended it. Needs the script's locals
-- activeKey, maxUntilKey, waitingKey, seenKey, reasonsKey.
--   {'A', activeUntil} | {'W', position} | {'X', reason}
-- The second result is true when the token has just been found past a deadline: the caller ends
-- it (forget) when it may write. `staleBefore` (or false) is the last-seen time at or before which
-- a waiting entry has ended.
local function stateOf(token, now, staleBefore)
  local activeUntil = redis.call('ZSCORE', activeKey, token)
  if activeUntil then
    activeUntil = tonumber(activeUntil)
    if activeUntil > now then
      return {'A', activeUntil}, false
    end
    local reason = 'ACTIVE_IDLE'
    if activeUntil >= tonumber(redis.call('HGET', maxUntilKey, token) or '0') then reason = 'HARD_LIMIT' end
    return {'X', reason}, true
  end
  local rank = redis.call('ZRANK', waitingKey, token)
  if rank then
    local seen = tonumber(redis.call('ZSCORE', seenKey, token))
    if staleBefore and (seen == nil or seen <= staleBefore) then
      return {'X', 'WAITING_IDLE'}, true
    end
    return {'W', rank + 1}, false
  end
  return {'X', redis.call('HGET', reasonsKey, token) or 'UNKNOWN'}, false
end
