--[[
  One admission tick, run once per window floor(now / tickMs) however many processes call it:
  ends stale entries, then admits by the strategy's bounds. A line left empty gives its generation,
  under which the caller unlists the concert (includes/listing.lua); it is raised first to the
  generation the caller last saw the concert listed under, so a line whose keys were lost (and
  its generation with them) still leaves the list, and a join from now on lists it above.
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
    KEYS[11] generation STRING raised by every entry made
    KEYS[12] counts   HASH what the scripts count of the line (includes/counts.lua)
    ARGV[1] now (ms)
    ARGV[2] tickMs
    ARGV[3] perTick (-1: no limit)
    ARGV[4] cap (-1: no limit)
    ARGV[5] activeIdleMs
    ARGV[6] activeMaxMs
    ARGV[7] staleBefore
    ARGV[8] endedBefore: why a token ended is forgotten once it ended before this
    ARGV[9] the generation the caller last saw the concert listed under (0: none)
  Returns {ran (0|1), admitted, ended, generation of the line if it is now empty, else -1}
]]
-- The concert's keys by name, for the includes, which take them as their first argument.
local line = {
  active = KEYS[1], maxUntil = KEYS[2], waiting = KEYS[3], seen = KEYS[4], entries = KEYS[5],
  users = KEYS[6], ended = KEYS[7], reasons = KEYS[8], admitted = KEYS[9], tick = KEYS[10],
  generation = KEYS[11], counts = KEYS[12],
}
-- @include "state"
-- @include "forget"
-- @include "admit"
-- @include "listing"

local now, tickMs, staleBefore = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[7])
local last = tonumber(redis.call('GET', line.tick) or '0')
if math.floor(now / tickMs) <= math.floor(last / tickMs) then
  return {0, 0, 0, -1}
end
redis.call('SET', line.tick, ARGV[1])
redis.call('ZREMRANGEBYSCORE', line.admitted, '-inf', now - 60000)

local LIMIT = 10000
local old = redis.call('ZRANGEBYSCORE', line.ended, '-inf', '(' .. ARGV[8], 'LIMIT', 0, LIMIT)
if #old > 0 then
  redis.call('HDEL', line.reasons, unpack(old))
  redis.call('ZREM', line.ended, unpack(old))
end

local ended = 0
for _, token in ipairs(redis.call('ZRANGEBYSCORE', line.seen, '-inf', staleBefore, 'LIMIT', 0, LIMIT)) do
  forget(line, token, 'WAITING_IDLE', now)
  ended = ended + 1
end
for _, token in ipairs(redis.call('ZRANGEBYSCORE', line.active, '-inf', now, 'LIMIT', 0, LIMIT)) do
  forget(line, token, stateOf(line, token, now, staleBefore)[2], now)
  ended = ended + 1
end

local admitted = admit(line, now, tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), staleBefore)
if redis.call('EXISTS', line.waiting, line.active) > 0 then return {1, admitted, ended, -1} end
lineEmptied(line, now - tonumber(ARGV[8]))
local generation = currentGeneration(line)
local listed = tonumber(ARGV[9])
if listed > generation then
  generation = listed
  redis.call('SET', line.generation, generation)
end
return {1, admitted, ended, generation}
