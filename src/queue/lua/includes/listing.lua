-- A line's generation, and what filling or emptying a line does to its keys. The concert is listed
-- as live (a sorted set outside the concert's hash tag, so the caller writes it in a call of its
-- own) under its line's generation; the tick that finds the line empty unlists it only while it is
-- still listed under that generation, so a join that raced the removal keeps it listed: every
-- entry made raises the generation by one. `line` holds the concert's keys by name; these read
-- and write generation, ended, reasons, admitted and counts.
local function currentGeneration(line)
  return tonumber(redis.call('GET', line.generation) or '0')
end

-- Entries were made: the generation is kept, and so is what an emptied line had set to expire.
local function lineRefilled(line, generation)
  redis.call('SET', line.generation, generation)
  redis.call('PERSIST', line.ended)
  redis.call('PERSIST', line.reasons)
  redis.call('PERSIST', line.admitted)
  redis.call('PERSIST', line.counts)
end

-- Nobody is in line, so no tick tidies the line until someone joins: why tokens ended is kept for
-- their retention and the admissions for the minute they count, then they go by themselves.
local function lineEmptied(line, retentionMs)
  redis.call('PEXPIRE', line.ended, retentionMs)
  redis.call('PEXPIRE', line.reasons, retentionMs)
  redis.call('PEXPIRE', line.admitted, 60000)
  redis.call('PEXPIRE', line.counts, retentionMs)
end
