-- A concert's waiting line in order, as one statement sees it: a process keeps a copy and finds
-- a poll's position in it by binary search instead of counting the line for every poll.
create or replace function queue_line(p_concert_id text) returns table (order_key bigint, token_id text)
language sql stable as $$
  select q.order_key, q.token_id from queue_entries q
  where q.concert_id = p_concert_id and q.status = 'WAITING'
  order by q.order_key, q.token_id
$$
