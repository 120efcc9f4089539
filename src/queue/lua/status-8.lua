--[[
  Status polls, many in one run: where each token stands; a waiting entry is marked as seen now,
  and an entry found past a deadline is ended. A token of which there is no trace at all (the
  queue's data was lost: Redis restarted without persistence) is put back in line at the order
  key it was issued with, so the fans who come back keep their order — unless its user has
  joined again since.
    KEYS[1] active    ZSET token -> active until (ms)
    KEYS[2] maxUntil  HASH token -> hard limit of the admission (ms)
    KEYS[3] waiting   ZSET token -> order key
    KEYS[4] seen      ZSET token -> last poll (ms)
    KEYS[5] entries   HASH token -> "userId|joinedAt|orderKey"
    KEYS[6] users     HASH userId -> live token
    KEYS[7] ended     ZSET token -> ended at (ms)
    KEYS[8] reasons   HASH token -> why it ended
    ARGV: 6 per poll: tokenId, now (ms), staleBefore, and the token's userId, joinedAt (ms) and
          order key
  Returns per poll {'W', position} | {'A', activeUntil} | {'X', reason}
]]
local activeKey, maxUntilKey, waitingKey, seenKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local entriesKey, usersKey, endedKey, reasonsKey = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
-- @include "state"
-- @include "forget"

local function restore(token, user, joinedAt, orderKey)
  if redis.call('HEXISTS', usersKey, user) == 1 then return {'X', 'UNKNOWN'} end
  redis.call('ZADD', waitingKey, orderKey, token)
  redis.call('HSET', entriesKey, token, user .. '|' .. joinedAt .. '|' .. orderKey)
  redis.call('HSET', usersKey, user, token)
  return {'W', redis.call('ZRANK', waitingKey, token) + 1}
end

local out = {}
for i = 1, #ARGV, 6 do
  local token, now = ARGV[i], tonumber(ARGV[i + 1])
  local state, lapsed = stateOf(token, now, tonumber(ARGV[i + 2]))
  if lapsed then forget(token, state[2], now) end
  if state[1] == 'X' and state[2] == 'UNKNOWN' then state = restore(token, ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]) end
  if state[1] == 'W' then redis.call('ZADD', seenKey, now, token) end
  out[#out + 1] = state
end
return out
