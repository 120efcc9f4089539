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
    KEYS[9] admitted  ZSET "token|waitMs" -> admitted at (ms)
    KEYS[10] generation STRING raised by every entry made (includes/listing.lua)
    KEYS[11] counts   HASH what the scripts count of the line (includes/counts.lua)
    ARGV: 6 per poll: tokenId, now (ms), staleBefore, and the token's userId, joinedAt (ms) and
          order key
  Returns per poll {'W', position} | {'A', activeUntil} | {'X', reason}; a poll that put its
  token back in line has {'W', position, generation}: the caller lists the concert again under it
]]
-- The concert's keys by name, for the includes, which take them as their first argument.
local line = {
  active = KEYS[1], maxUntil = KEYS[2], waiting = KEYS[3], seen = KEYS[4], entries = KEYS[5],
  users = KEYS[6], ended = KEYS[7], reasons = KEYS[8], admitted = KEYS[9],
  generation = KEYS[10], counts = KEYS[11],
}
-- @include "state"
-- @include "forget"
-- @include "listing"
-- @include "counts"

-- Read only if a token is put back in line.
local generation = nil

local function restore(token, user, joinedAt, orderKey)
  if redis.call('HEXISTS', line.users, user) == 1 then return {'X', 'UNKNOWN'} end
  redis.call('ZADD', line.waiting, orderKey, token)
  redis.call('HSET', line.entries, token, user .. '|' .. joinedAt .. '|' .. orderKey)
  redis.call('HSET', line.users, user, token)
  countUnordered(line)
  generation = (generation or currentGeneration(line)) + 1
  return {'W', redis.call('ZRANK', line.waiting, token) + 1, generation}
end

local out = {}
for i = 1, #ARGV, 6 do
  local token, now = ARGV[i], tonumber(ARGV[i + 1])
  local state, lapsed = stateOf(line, token, now, tonumber(ARGV[i + 2]))
  if lapsed then forget(line, token, state[2], now) end
  if state[1] == 'X' and state[2] == 'UNKNOWN' then state = restore(token, ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]) end
  if state[1] == 'W' then redis.call('ZADD', line.seen, now, token) end
  out[#out + 1] = state
end
if generation then lineRefilled(line, generation) end
return out
