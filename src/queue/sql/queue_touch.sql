-- The gate: an ACTIVE entry slides to now + p_idle, never past its hard limit (only when that
-- moves it by at least p_granularity, so a busy fan does not rewrite the row on every request);
-- an entry found lapsed is ended with its reason. Returns the entry's state, or no row for a
-- token that is not this concert's.
create or replace function queue_touch(
  p_concert_id text, p_token_id text, p_now timestamptz, p_idle interval, p_stale_before timestamptz, p_granularity interval
) returns table (status text, end_reason text, active_until timestamptz, ahead integer)
language plpgsql as $$
#variable_conflict use_column
begin
  update queue_entries q set status = 'EXPIRED', ended_at = p_now,
    end_reason = queue_lapse_reason(q.status, q.last_seen_at, q.active_until, q.active_max_until, p_now, p_stale_before)
  where q.token_id = p_token_id and q.concert_id = p_concert_id and q.status <> 'EXPIRED'
    and queue_lapse_reason(q.status, q.last_seen_at, q.active_until, q.active_max_until, p_now, p_stale_before) is not null;
  update queue_entries q set active_until = least(p_now + p_idle, q.active_max_until)
  where q.token_id = p_token_id and q.concert_id = p_concert_id and q.status = 'ACTIVE'
    and q.active_until < least(p_now + p_idle, q.active_max_until) - p_granularity;
  return query
    select q.status, q.end_reason, q.active_until, p.ahead
    from queue_entries q left join queue_positions(p_concert_id, array[p_token_id]) p on q.status = 'WAITING'
    where q.token_id = p_token_id and q.concert_id = p_concert_id;
end $$
