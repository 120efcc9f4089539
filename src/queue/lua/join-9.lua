--[[
  Joins, many in one run: each joins the concert's line, or gets the user's live entry back
  (idempotent per user and concert). Records are handled in order, as if each were its own run.
    KEYS[1] users     HASH userId -> live token
    KEYS[2] entries   HASH token -> "userId|joinedAt"
    KEYS[3] waiting   ZSET token -> order key (pre-queue: random negative; then the arrival sequence)
    KEYS[4] seen      ZSET token -> last poll (ms), waiting tokens only
    KEYS[5] active    ZSET token -> active until (ms)
    KEYS[6] maxUntil  HASH token -> hard limit of the admission (ms)
    KEYS[7] seq       STRING arrival sequence
    KEYS[8] ended     ZSET token -> ended at (ms)
    KEYS[9] reasons   HASH token -> why it ended
    ARGV: 5 per join: userId, tokenId for a new entry, now (ms), pre-queue order key or '' to join
          at the back, staleBefore (a waiting entry last seen at or before this has ended)
  Returns per join {tokenId, joinedAt, created (0|1), 'W', position | 'A', activeUntil}
]]
local usersKey, entriesKey, waitingKey, seenKey, activeKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local maxUntilKey, seqKey, endedKey, reasonsKey = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
-- @include "state"
-- @include "forget"

local function join(user, newToken, nowArg, prequeueKey, staleBefore)
  local now = tonumber(nowArg)
  local existing = redis.call('HGET', usersKey, user)
  if existing then
    local state, lapsed = stateOf(existing, now, staleBefore)
    if lapsed then
      forget(existing, state[2], now)
    elseif state[1] ~= 'X' then
      if state[1] == 'W' then redis.call('ZADD', seenKey, now, existing) end
      local joinedAt = string.match(redis.call('HGET', entriesKey, existing), '|(%d+)$')
      return {existing, joinedAt, 0, state[1], state[2]}
    end
  end

  local orderKey = prequeueKey
  if orderKey == '' then orderKey = redis.call('INCR', seqKey) end
  redis.call('ZADD', waitingKey, orderKey, newToken)
  redis.call('ZADD', seenKey, now, newToken)
  redis.call('HSET', entriesKey, newToken, user .. '|' .. nowArg)
  redis.call('HSET', usersKey, user, newToken)
  return {newToken, nowArg, 1, 'W', redis.call('ZRANK', waitingKey, newToken) + 1}
end

local out = {}
for i = 1, #ARGV, 5 do
  out[#out + 1] = join(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4]))
end
return out
