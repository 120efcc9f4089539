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
local activeKey, maxUntilKey, waitingKey, seenKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local entriesKey, usersKey, endedKey, reasonsKey, admittedKey = KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
-- @include "state"
-- @include "forget"
-- @include "admit"

local token, now, staleBefore = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[8])
local state, lapsed = stateOf(token, now, staleBefore)
if lapsed then
  forget(token, state[2], now)
  return 0
end
if state[1] == 'X' then return 0 end
forget(token, ARGV[3], now)
if ARGV[4] == '1' then
  admit(now, -1, tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), staleBefore)
end
return 1
