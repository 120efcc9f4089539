--[[
  The gate, many in one run: an active admission slides to now + idle, never past its hard limit;
  an entry found past a deadline is ended.
    KEYS: as status-11.lua (active, maxUntil, waiting, seen, entries, users, ended, reasons), then counts
    ARGV: 4 per call: tokenId, now (ms), activeIdleMs, staleBefore
  Returns per call {'A', activeUntil} | {'W', position} | {'X', reason}
]]
-- The concert's keys by name, for the includes, which take them as their first argument.
local line = {
  active = KEYS[1], maxUntil = KEYS[2], waiting = KEYS[3], seen = KEYS[4], entries = KEYS[5],
  users = KEYS[6], ended = KEYS[7], reasons = KEYS[8], counts = KEYS[9],
}
-- @include "state"
-- @include "forget"

local function touch(token, now, idleMs, staleBefore)
  local state, lapsed = stateOf(line, token, now, staleBefore)
  if lapsed then forget(line, token, state[2], now) end
  if state[1] == 'A' then
    local slid = math.min(now + idleMs, tonumber(redis.call('HGET', line.maxUntil, token)))
    if slid > state[2] then
      redis.call('ZADD', line.active, 'XX', slid, token)
      state[2] = slid
    end
  end
  return state
end

local out = {}
for i = 1, #ARGV, 4 do
  out[#out + 1] = touch(ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]))
end
return out
