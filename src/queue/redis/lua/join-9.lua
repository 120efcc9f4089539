--[[
  Joins, many in one run: each joins the concert's line, or gets the user's live entry back
  (idempotent per user and concert). Records are handled in order, as if each were its own run.
    KEYS: the concert's keys (see includes/common.lua)
    ARGV: 5 per join: userId, tokenId for a new entry, now (ms), pre-queue order key or '' to join
          at the back, staleBefore (a waiting entry last seen at or before this has ended)
  Returns per join {tokenId, joinedAt, created (0|1), 'W', position | 'A', activeUntil}
]]
-- @include "common"
local function join(user, newToken, nowArg, prequeueKey, staleBefore)
  local now = tonumber(nowArg)
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
  redis.call('HSET', entriesKey, newToken, user .. '|' .. nowArg)
  redis.call('HSET', usersKey, user, newToken)
  return {newToken, nowArg, 1, 'W', redis.call('ZRANK', waitingKey, newToken) + 1}
end

local out = {}
for i = 1, #ARGV, 5 do
  out[#out + 1] = join(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4]))
end
return out
