--[[
  One admission tick, run once per window floor(now / tickMs) however many processes call it:
  ends stale entries, then admits by the strategy's bounds.
    KEYS: the concert's keys (see includes/common.lua)
    ARGV[1] now (ms)
    ARGV[2] tickMs
    ARGV[3] perTick (-1: no limit)
    ARGV[4] cap (-1: no limit)
    ARGV[5] activeIdleMs
    ARGV[6] activeMaxMs
    ARGV[7] staleBefore
  Returns {ran (0|1), admitted, ended}
]]
-- @include "common"
local now, tickMs, staleBefore = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[7])
local last = tonumber(redis.call('GET', tickKey) or '0')
if math.floor(now / tickMs) <= math.floor(last / tickMs) then
  return {0, 0, 0}
end
redis.call('SET', tickKey, ARGV[1])
redis.call('ZREMRANGEBYSCORE', admittedKey, '-inf', now - 60000)
local ended = endStale(now, staleBefore, 10000)
local admitted = admit(now, tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), staleBefore)
return {1, admitted, ended}
