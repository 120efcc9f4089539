-- The gate, many requests in one statement: an ACTIVE entry slides to now + p_idle, never past its
-- hard limit (only when that moves it by at least p_granularity, so a busy fan does not rewrite
-- the row on every request); an entry found lapsed is ended with its reason. Returns one row per
-- request, in order, with the entry's state after this step; status is null for a token that is
-- not this concert's.
create or replace function queue_touch_many(
  p_concert_id text, p_token_ids text[], p_nows timestamptz[], p_stale_befores timestamptz[], p_idle interval,
  p_granularity interval
) returns table (idx integer, status text, end_reason text, active_until timestamptz, ahead integer)
language plpgsql as $$
#variable_conflict use_column
begin
  return query
    with req as (
      select r.token_id, r.now, r.stale_before, r.idx::integer
      from unnest(p_token_ids, p_nows, p_stale_befores) with ordinality as r(token_id, now, stale_before, idx)
    ), e as (
      select req.idx, req.now, q.token_id, q.status, q.end_reason, q.active_until,
        least(req.now + p_idle, q.active_max_until) as slid_until,
        queue_lapse_reason(q.status, q.last_seen_at, q.active_until, q.active_max_until, req.now, req.stale_before) as lapsed
      from req left join queue_entries q on q.token_id = req.token_id and q.concert_id = p_concert_id
    ), ended as (
      update queue_entries q set status = 'EXPIRED', ended_at = e.now, end_reason = e.lapsed from e
      where q.token_id = e.token_id and e.lapsed is not null and q.status <> 'EXPIRED'
    ), slid as (
      update queue_entries q set active_until = e.slid_until from e
      where q.token_id = e.token_id and e.lapsed is null and q.status = 'ACTIVE'
        and q.active_until < e.slid_until - p_granularity
      returning q.token_id, q.active_until
    )
    select e.idx, case when e.lapsed is null then e.status else 'EXPIRED' end, coalesce(e.lapsed, e.end_reason),
      coalesce((select max(s.active_until) from slid s where s.token_id = e.token_id), e.active_until), p.ahead
    from e left join queue_positions(p_concert_id, array(select token_id from e where status = 'WAITING' and lapsed is null)) p
      on p.token_id = e.token_id and e.status = 'WAITING' and e.lapsed is null
    order by e.idx;
end $$
