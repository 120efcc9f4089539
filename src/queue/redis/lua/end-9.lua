--[[
  Ends an entry (left, or paid) and frees its place or slot at once; with `promote` the freed
  slot goes to the next in line in this same step (the cap strategy).
    KEYS: the concert's keys (see includes/common.lua)
    ARGV[1] tokenId
    ARGV[2] now (ms)
    ARGV[3] promote (0|1)
    ARGV[4] cap: most active at once
    ARGV[5] activeIdleMs
    ARGV[6] activeMaxMs
    ARGV[7] staleBefore
  Returns 1 if the entry was live, else 0
]]
-- @include "common"
local token, now, staleBefore = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[7])
local live = stateOf(token, now, staleBefore, false)[1] ~= 'E'
forget(token)
if live and ARGV[3] == '1' then
  admit(now, -1, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), staleBefore)
end
if live then return 1 end
return 0
