--[[
  Joins a concert's line, or returns the user's live entry: idempotent per user and concert.
    KEYS: the concert's keys (see includes/common.lua)
    ARGV[1] userId
    ARGV[2] tokenId for a new entry
    ARGV[3] now (ms)
    ARGV[4] pre-queue order key, or '' to join at the back
    ARGV[5] staleBefore: a waiting entry last seen at or before this has ended
  Returns {tokenId, joinedAt, created (0|1), 'W', position | 'A', activeUntil}
]]
-- @include "common"
local user, newToken, now, prequeueKey = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local staleBefore = tonumber(ARGV[5])

local existing = redis.call('HGET', usersKey, user)
if existing then
  local state = stateOf(existing, now, staleBefore, true)
  if state[1] ~= 'E' then
    if state[1] == 'W' then redis.call('ZADD', seenKey, now, existing) end
    local joinedAt = string.match(redis.call('HGET', entriesKey, existing), '|(%d+)$')
    return {existing, joinedAt, 0, state[1], state[2]}
  end
end

local orderKey = prequeueKey
if orderKey == '' then orderKey = redis.call('INCR', seqKey) end
redis.call('ZADD', waitingKey, orderKey, newToken)
redis.call('ZADD', seenKey, now, newToken)
redis.call('HSET', entriesKey, newToken, user .. '|' .. ARGV[3])
redis.call('HSET', usersKey, user, newToken)
return {newToken, ARGV[3], 1, 'W', redis.call('ZRANK', waitingKey, newToken) + 1}
