--[[
  The gate, many in one run: an active admission slides to now + idle, never past its hard limit.
    KEYS: the concert's keys (see includes/common.lua)
    ARGV: 4 per call: tokenId, now (ms), activeIdleMs, staleBefore
  Returns per call {'A', activeUntil} | {'W', position} | {'E'}
]]
-- @include "common"
local function touch(token, now, idleMs, staleBefore)
  local activeUntil = tonumber(redis.call('ZSCORE', activeKey, token))
  if activeUntil and activeUntil > now then
    local slid = math.min(now + idleMs, tonumber(redis.call('HGET', maxUntilKey, token)))
    if slid > activeUntil then
      redis.call('ZADD', activeKey, 'XX', slid, token)
      activeUntil = slid
    end
    return {'A', activeUntil}
  end
  return stateOf(token, now, staleBefore, true)
end

local out = {}
for i = 1, #ARGV, 4 do
  out[#out + 1] = touch(ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]))
end
return out
