--[[
  One admission tick, run once per window floor(now / tickMs) however many processes call it:
  ends stale entries, then admits by the strategy's bounds.
    KEYS[1] active    ZSET token -> active until (ms)
    KEYS[2] maxUntil  HASH token -> hard limit of the admission (ms)
    KEYS[3] waiting   ZSET token -> order key
    KEYS[4] seen      ZSET token -> last poll (ms)
    KEYS[5] entries   HASH token -> "userId|joinedAt|orderKey"
    KEYS[6] users     HASH userId -> live token
    KEYS[7] ended     ZSET token -> ended at (ms)
    KEYS[8] reasons   HASH token -> why it ended
    KEYS[9] admitted  ZSET "token|waitMs" -> admitted at (ms)
    KEYS[10] tick     STRING when admission last ran (ms)
    ARGV[1] now (ms)
    ARGV[2] tickMs
    ARGV[3] perTick (-1: no limit)
    ARGV[4] cap (-1: no limit)
    ARGV[5] activeIdleMs
    ARGV[6] activeMaxMs
    ARGV[7] staleBefore
    ARGV[8] endedBefore: why a token ended is forgotten once it ended before this
  Returns {ran (0|1), admitted, ended}
]]
local activeKey, maxUntilKey, waitingKey, seenKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local entriesKey, usersKey, endedKey, reasonsKey, admittedKey, tickKey = KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
-- @include "state"
-- @include "forget"
-- @include "admit"

local now, tickMs, staleBefore = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[7])
local last = tonumber(redis.call('GET', tickKey) or '0')
if math.floor(now / tickMs) <= math.floor(last / tickMs) then
  return {0, 0, 0}
end
redis.call('SET', tickKey, ARGV[1])
redis.call('ZREMRANGEBYSCORE', admittedKey, '-inf', now - 60000)

local LIMIT = 10000
local old = redis.call('ZRANGEBYSCORE', endedKey, '-inf', '(' .. ARGV[8], 'LIMIT', 0, LIMIT)
if #old > 0 then
  redis.call('HDEL', reasonsKey, unpack(old))
  redis.call('ZREM', endedKey, unpack(old))
end

local ended = 0
for _, token in ipairs(redis.call('ZRANGEBYSCORE', seenKey, '-inf', staleBefore, 'LIMIT', 0, LIMIT)) do
  forget(token, 'WAITING_IDLE', now)
  ended = ended + 1
end
for _, token in ipairs(redis.call('ZRANGEBYSCORE', activeKey, '-inf', now, 'LIMIT', 0, LIMIT)) do
  forget(token, stateOf(token, now, staleBefore)[2], now)
  ended = ended + 1
end

local admitted = admit(now, tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), staleBefore)
return {1, admitted, ended}
