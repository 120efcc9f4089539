--[[
  Adds one process's counts of a window to a concert's booking health, bucket by bucket, so the
  counts of every process add up.
    KEYS[1] health  HASH of one window: latency bucket -> answers, "errors" -> failed answers,
                    "served" -> purchases done
    ARGV[1] keepMs: how long the window's counts are kept
    ARGV[2] errors
    ARGV[3] served
    ARGV[4..] bucket, answers: pairs, for the buckets with answers
]]
for i = 4, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
if tonumber(ARGV[2]) > 0 then redis.call('HINCRBY', KEYS[1], 'errors', ARGV[2]) end
if tonumber(ARGV[3]) > 0 then redis.call('HINCRBY', KEYS[1], 'served', ARGV[3]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
