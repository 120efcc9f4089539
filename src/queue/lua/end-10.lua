--[[
  Ends an entry (left, or paid) and frees its place or slot at once; with `promote` the freed
  slot goes to the next in line in this same step (the cap strategy).
    KEYS[1] active    ZSET token -> active until (ms)
    KEYS[2] maxUntil  HASH token -> hard limit of the admission (ms)
    KEYS[3] waiting   ZSET token -> order key
    KEYS[4] seen      ZSET token -> last poll (ms)
    KEYS[5] entries   HASH token -> "userId|joinedAt|orderKey"
    KEYS[6] users     HASH userId -> live token
    KEYS[7] ended     ZSET token -> ended at (ms)
    KEYS[8] reasons   HASH token -> why it ended
    KEYS[9] admitted  ZSET "token|waitMs" -> admitted at (ms)
    KEYS[10] counts   HASH what the scripts count of the line (includes/counts.lua)
    ARGV[1] tokenId
    ARGV[2] now (ms)
    ARGV[3] reason (LEFT | PAID)
    ARGV[4] promote (0|1)
    ARGV[5] cap: most active at once
    ARGV[6] activeIdleMs
    ARGV[7] activeMaxMs
    ARGV[8] staleBefore
  Returns 1 if the entry was live, else 0
]]
-- The concert's keys by name, for the includes, which take them as their first argument.
local line = {
  active = KEYS[1], maxUntil = KEYS[2], waiting = KEYS[3], seen = KEYS[4], entries = KEYS[5],
  users = KEYS[6], ended = KEYS[7], reasons = KEYS[8], admitted = KEYS[9], counts = KEYS[10],
}
-- @include "state"
-- @include "forget"
-- @include "admit"

local token, now, staleBefore = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[8])
local state, lapsed = stateOf(line, token, now, staleBefore)
if lapsed then
  forget(line, token, state[2], now)
  return 0
end
if state[1] == 'X' then return 0 end
forget(line, token, ARGV[3], now)
if ARGV[4] == '1' then
  admit(line, now, -1, tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), staleBefore)
end
return 1
