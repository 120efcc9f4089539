-- What the scripts count of a line, for the processes that answer far-back polls from a copy of it
-- (relief.ts). `line.counts` is a HASH: "front" the fans ever taken off the line's front (admitted,
-- or found lapsed as their turn came: includes/admit.lua), "left" the fans who left it otherwise
-- (includes/forget.lua), "unordered" the entries made with no arrival order (a pre-queue join, a
-- token put back after a loss), which may sort anywhere. `line.joinSeconds` is a HASH: second of a
-- join (now / 1000) -> the arrival-ordered joins made in it, kept for JOIN_SECONDS_KEPT seconds.
local JOIN_SECONDS_KEPT = 600

local function countUnordered(line)
  redis.call('HINCRBY', line.counts, 'unordered', 1)
end

-- A join made at `now` with `orderKey`; the first join of a second forgets the seconds a minute
-- before the oldest kept (a line with a gap of more than a minute in its joins keeps a few more).
local function countJoin(line, orderKey, now)
  if orderKey < 0 then return countUnordered(line) end
  local second = math.floor(now / 1000)
  if redis.call('HINCRBY', line.joinSeconds, second, 1) == 1 then
    local old = {}
    for s = second - JOIN_SECONDS_KEPT - 60, second - JOIN_SECONDS_KEPT do old[#old + 1] = s end
    redis.call('HDEL', line.joinSeconds, unpack(old))
  end
  redis.call('PEXPIRE', line.joinSeconds, JOIN_SECONDS_KEPT * 1000)
end
