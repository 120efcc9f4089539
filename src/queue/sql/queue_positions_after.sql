-- How many waiting entries are ahead of each given waiting entry that sorts after the point
-- (p_after_key, p_after_token), counting only the entries after that point: the batch sorted by
-- order, one index range count for each gap between neighbours, and a running sum. The counts
-- together cover the line from the point to the batch's last entry once. Entries at or before
-- the point get no row (the caller knows the line up to there). The line is ordered by order
-- key, then token id (keys of two processes may tie), as in Redis.
create or replace function queue_positions_after(p_concert_id text, p_token_ids text[], p_after_key bigint, p_after_token text)
returns table (token_id text, ahead integer)
language sql stable as $$
  with mine as (
    select q.token_id, q.order_key,
      coalesce(lag(q.order_key) over w, p_after_key) as after_key,
      coalesce(lag(q.token_id) over w, p_after_token) as after_token,
      lag(q.token_id) over w is not null as after_is_mine
    from queue_entries q
    where q.token_id = any(p_token_ids) and q.concert_id = p_concert_id and q.status = 'WAITING'
      and (q.order_key, q.token_id) > (p_after_key, p_after_token)
    window w as (order by q.order_key, q.token_id)
  ), gaps as (
    select m.token_id, m.order_key, (
      select count(*) from queue_entries w
      where w.concert_id = p_concert_id and w.status = 'WAITING'
        and (w.order_key, w.token_id) > (m.after_key, m.after_token) and (w.order_key, w.token_id) < (m.order_key, m.token_id)
    ) + (case when m.after_is_mine then 1 else 0 end) as gap
    from mine m
  )
  select g.token_id, (sum(g.gap) over (order by g.order_key, g.token_id))::integer from gaps g
$$
