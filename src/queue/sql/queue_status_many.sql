-- Status polls: where each token stands. A waiting entry is marked as seen (at most once per
-- p_seen_granularity, so a crowd polling does not rewrite its rows on every poll); an entry
-- found lapsed is ended with its reason. A token of which there is no trace at all is put back
-- in line at the order key it was issued with (p_user_ids, p_joined_ats, p_order_keys), unless
-- its user has joined again since. Returns one row per poll, in order; status is null for a
-- token that is not this concert's. The caller knows the line up to (p_after_key, p_after_token)
-- (a copy taken moments ago): a waiting entry up to there comes back with its order and no
-- count; one after it with the count of those ahead of it from that point on. Each row also
-- carries the front of the line now, as the counts see it: its first p_front waiting entries in
-- order (front_keys, front_tokens), so the caller knows which entries of its copy have left the
-- line from the front since (admitted, whichever process admitted them) and which joined there.
create or replace function queue_status_many(
  p_concert_id text, p_token_ids text[], p_nows timestamptz[], p_stale_befores timestamptz[], p_seen_granularity interval,
  p_user_ids text[], p_joined_ats timestamptz[], p_order_keys bigint[], p_after_key bigint, p_after_token text, p_front integer
) returns table (
  idx integer, status text, end_reason text, active_until timestamptz, token_id text, order_key bigint, ahead integer,
  front_keys bigint[], front_tokens text[]
)
language plpgsql as $$
#variable_conflict use_column
begin
  insert into queue_entries (token_id, concert_id, user_id, order_key, status, joined_at, last_seen_at)
    select r.token_id, p_concert_id, r.user_id, r.order_key, 'WAITING', r.joined_at, r.now
    from unnest(p_token_ids, p_user_ids, p_joined_ats, p_order_keys, p_nows) as r(token_id, user_id, joined_at, order_key, now)
    where not exists (select 1 from queue_entries q where q.token_id = r.token_id)
    on conflict do nothing;
  return query
    with req as (
      select r.token_id, r.now, r.stale_before, r.idx::integer
      from unnest(p_token_ids, p_nows, p_stale_befores) with ordinality as r(token_id, now, stale_before, idx)
    ), e as (
      select req.idx, req.now, req.stale_before, q.token_id, q.order_key, q.status, q.end_reason, q.active_until,
        queue_lapse_reason(q.status, q.last_seen_at, q.active_until, q.active_max_until, req.now, req.stale_before) as lapsed
      from req left join queue_entries q on q.token_id = req.token_id and q.concert_id = p_concert_id
    ), ended as (
      update queue_entries q set status = 'EXPIRED', ended_at = e.now, end_reason = e.lapsed from e
      where q.token_id = e.token_id and e.lapsed is not null and q.status <> 'EXPIRED'
    ), seen as (
      update queue_entries q set last_seen_at = e.now from e
      where q.token_id = e.token_id and q.status = 'WAITING' and e.lapsed is null
        and q.last_seen_at < e.now - p_seen_granularity
    ), front as (
      select coalesce(array_agg(f.order_key order by f.order_key, f.token_id), '{}') as keys,
        coalesce(array_agg(f.token_id order by f.order_key, f.token_id), '{}') as tokens
      from (
        select w.order_key, w.token_id from queue_entries w
        where w.concert_id = p_concert_id and w.status = 'WAITING'
        order by w.order_key, w.token_id limit p_front
      ) f
    )
    select e.idx, case when e.lapsed is null then e.status else 'EXPIRED' end, coalesce(e.lapsed, e.end_reason),
      e.active_until, e.token_id, e.order_key, p.ahead, h.keys, h.tokens
    from e left join queue_positions_after(p_concert_id, array(select token_id from e where status = 'WAITING' and lapsed is null),
        p_after_key, p_after_token) p
      on p.token_id = e.token_id and e.status = 'WAITING' and e.lapsed is null
      cross join front h
    order by e.idx;
end $$
