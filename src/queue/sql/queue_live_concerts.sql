-- The concerts with a live entry (waiting or admitted, whether or not it has lapsed since): one
-- step of the partial index of live entries per such concert, each starting past the last one
-- found (a loose index scan), so the cost follows the concerts with a line, not every concert or
-- every fan in line.
create or replace function queue_live_concerts() returns table (concert_id text)
language sql stable as $$
  with recursive live(concert_id) as (
    (select q.concert_id from queue_entries q where q.status <> 'EXPIRED' order by q.concert_id limit 1)
    union all
    select (select q.concert_id from queue_entries q
            where q.status <> 'EXPIRED' and q.concert_id > live.concert_id order by q.concert_id limit 1)
    from live where live.concert_id is not null
  )
  select live.concert_id from live where live.concert_id is not null
$$
