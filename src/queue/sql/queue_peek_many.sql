-- Where tokens stand, many in one statement, changing nothing: an admission past its limits is
-- EXPIRED with the reason it lapsed; a waiting entry keeps its place whether or not it still polls
-- (only a step that may write ends it). Returns one row per token, in order; status is null for a
-- token that is not this concert's.
create or replace function queue_peek_many(p_concert_id text, p_token_ids text[], p_nows timestamptz[])
returns table (idx integer, status text, end_reason text, active_until timestamptz, ahead integer)
language sql stable as $$
  with req as (
    select r.token_id, r.now, r.idx::integer
    from unnest(p_token_ids, p_nows) with ordinality as r(token_id, now, idx)
  ), e as (
    select req.idx, req.now, q.token_id, q.status, q.end_reason, q.last_seen_at, q.active_until, q.active_max_until
    from req left join queue_entries q on q.token_id = req.token_id and q.concert_id = p_concert_id
  )
  select e.idx,
    case when e.status = 'ACTIVE' and e.active_until <= e.now then 'EXPIRED' else e.status end,
    coalesce(e.end_reason, queue_lapse_reason(e.status, e.last_seen_at, e.active_until, e.active_max_until, e.now, null)),
    e.active_until, p.ahead
  from e left join queue_positions(p_concert_id, array(select e.token_id from e where e.status = 'WAITING')) p
    on p.token_id = e.token_id and e.status = 'WAITING'
  order by e.idx
$$
