--[[
  Joins, many in one run: each joins the concert's line, or gets the user's live entry back
  (idempotent per user and concert); a join with a client address first counts against the
  address's limit, and one too many changes nothing else. Records are handled in order, as if each
  were its own run.
    KEYS[1] users     HASH userId -> live token
    KEYS[2] entries   HASH token -> "userId|joinedAt|orderKey"
    KEYS[3] waiting   ZSET token -> order key (pre-queue: random negative; then by arrival time)
    KEYS[4] seen      ZSET token -> last poll (ms), waiting tokens only
    KEYS[5] active    ZSET token -> active until (ms)
    KEYS[6] maxUntil  HASH token -> hard limit of the admission (ms)
    KEYS[7] ended     ZSET token -> ended at (ms)
    KEYS[8] reasons   HASH token -> why it ended
    KEYS[9] admitted  ZSET "token|waitMs" -> admitted at (ms)
    KEYS[10] generation STRING raised by every entry made (includes/listing.lua)
    KEYS[11] joins       HASH client address -> joins counted in the address's window
    KEYS[12] joinWindows ZSET client address -> when the address's window ends (ms)
    KEYS[13] counts      HASH what the scripts count of the line (includes/counts.lua)
    KEYS[14] joinSeconds HASH second -> arrival-ordered joins made in it (includes/counts.lua)
    ARGV: 9 per join: userId, tokenId for a new entry, now (ms), order key of a new entry,
          staleBefore (a waiting entry last seen at or before this has ended), mayCreate (0|1:
          with 0, only a live entry is given back and none is made), the client address ('': the
          join is not counted), joins allowed per window, the window (ms)
  Returns per join {tokenId, joinedAt, orderKey, created (0|1), 'W', position | 'A', activeUntil},
  {''} when there is no live entry and none may be made, or {'', ms until the address's window
  ends} when the join is one too many; then, last, the line's generation, under which the caller
  lists the concert as live
]]
-- The concert's keys by name, for the includes, which take them as their first argument.
local line = {
  users = KEYS[1], entries = KEYS[2], waiting = KEYS[3], seen = KEYS[4], active = KEYS[5],
  maxUntil = KEYS[6], ended = KEYS[7], reasons = KEYS[8], admitted = KEYS[9],
  generation = KEYS[10], joins = KEYS[11], joinWindows = KEYS[12], counts = KEYS[13], joinSeconds = KEYS[14],
}
-- @include "state"
-- @include "forget"
-- @include "listing"
-- @include "counts"

local generation = currentGeneration(line)
local made = false

-- Two windows that have ended are forgotten with each one started, so the keys hold about the open ones.
local function forgetEndedWindows(now)
  local ended = redis.call('ZRANGEBYSCORE', line.joinWindows, '-inf', now, 'LIMIT', 0, 2)
  if #ended == 0 then return end
  redis.call('ZREM', line.joinWindows, unpack(ended))
  redis.call('HDEL', line.joins, unpack(ended))
end

-- Counts a join against its address's window, which starts at the address's first join and lasts
-- windowMs (as @fastify/rate-limit counts); a join refused still counts. Returns how long until
-- the window ends when the join is one too many, else nil. The keys expire, by Redis's clock, when
-- the last window started ends: a concert nobody joins any more leaves nothing behind.
local function overLimit(address, now, perWindow, windowMs)
  local endsAt = tonumber(redis.call('ZSCORE', line.joinWindows, address))
  local joins
  if endsAt and endsAt > now then
    joins = redis.call('HINCRBY', line.joins, address, 1)
  else
    forgetEndedWindows(now)
    endsAt = now + windowMs
    redis.call('ZADD', line.joinWindows, endsAt, address)
    redis.call('HSET', line.joins, address, 1)
    redis.call('PEXPIRE', line.joinWindows, windowMs)
    redis.call('PEXPIRE', line.joins, windowMs)
    joins = 1
  end
  if joins > perWindow then return endsAt - now end
  return nil
end

local function join(user, newToken, nowArg, orderKey, staleBefore, mayCreate, address, perWindow, windowMs)
  local now = tonumber(nowArg)
  if address ~= '' then
    local wait = overLimit(address, now, tonumber(perWindow), tonumber(windowMs))
    if wait then return {'', wait} end
  end
  local existing = redis.call('HGET', line.users, user)
  if existing then
    local state, lapsed = stateOf(line, existing, now, staleBefore)
    if lapsed then
      forget(line, existing, state[2], now)
    elseif state[1] ~= 'X' then
      if state[1] == 'W' then redis.call('ZADD', line.seen, now, existing) end
      local joinedAt, existingKey = string.match(redis.call('HGET', line.entries, existing), '^[^|]*|(%d+)|(.*)$')
      return {existing, joinedAt, existingKey, 0, state[1], state[2]}
    end
  end

  if mayCreate ~= '1' then return {''} end
  redis.call('ZADD', line.waiting, orderKey, newToken)
  redis.call('ZADD', line.seen, now, newToken)
  redis.call('HSET', line.entries, newToken, user .. '|' .. nowArg .. '|' .. orderKey)
  redis.call('HSET', line.users, user, newToken)
  countJoin(line, tonumber(orderKey), now)
  generation = generation + 1
  made = true
  return {newToken, nowArg, orderKey, 1, 'W', redis.call('ZRANK', line.waiting, newToken) + 1}
end

local out = {}
for i = 1, #ARGV, 9 do
  out[#out + 1] = join(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4]), ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8])
end
if made then lineRefilled(line, generation) end
out[#out + 1] = generation
return out
