--[[
  The gate: an active admission slides to now + idle, never past its hard limit.
    KEYS: the concert's keys (see includes/common.lua)
    ARGV[1] tokenId
    ARGV[2] now (ms)
    ARGV[3] activeIdleMs
    ARGV[4] staleBefore
  Returns {'A', activeUntil} | {'W', position} | {'E'}
]]
-- @include "common"
local token, now = ARGV[1], tonumber(ARGV[2])
local activeUntil = tonumber(redis.call('ZSCORE', activeKey, token))
if activeUntil and activeUntil > now then
  local slid = math.min(now + tonumber(ARGV[3]), tonumber(redis.call('HGET', maxUntilKey, token)))
  if slid > activeUntil then
    redis.call('ZADD', activeKey, 'XX', slid, token)
    activeUntil = slid
  end
  return {'A', activeUntil}
end
return stateOf(token, now, tonumber(ARGV[4]), true)
