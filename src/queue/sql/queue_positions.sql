-- How many waiting entries are ahead of each given waiting entry (same snapshot as the caller's
-- statement): the batch sorted by order, one index range count for each gap between neighbours,
-- and a running sum. The counts together cover the line up to the batch's last entry once. The
-- line is ordered by order key, then token id (keys of two processes may tie), as in Redis.
create or replace function queue_positions(p_concert_id text, p_token_ids text[])
returns table (token_id text, ahead integer)
language sql stable as $$
  with mine as (
    select q.token_id, q.order_key,
      coalesce(lag(q.order_key) over w, -9223372036854775808) as after_key,
      coalesce(lag(q.token_id) over w, '') as after_token
    from queue_entries q
    where q.token_id = any(p_token_ids) and q.concert_id = p_concert_id and q.status = 'WAITING'
    window w as (order by q.order_key, q.token_id)
  ), gaps as (
    select m.token_id, m.order_key, (
      select count(*) from queue_entries w
      where w.concert_id = p_concert_id and w.status = 'WAITING'
        and (w.order_key, w.token_id) >= (m.after_key, m.after_token) and (w.order_key, w.token_id) < (m.order_key, m.token_id)
    ) as gap
    from mine m
  )
  select g.token_id, (sum(g.gap) over (order by g.order_key, g.token_id))::integer from gaps g
$$
