-- Ends a live entry because the fan left or paid (p_reason). An entry that had already lapsed
-- ends with the reason it lapsed and was not live. With p_promote (the cap strategy), the freed
-- slot goes to the next in line in the same transaction: the concert's tick lock is taken before
-- the entry's row, in the same order as queue_tick. Returns whether the entry was live.
create or replace function queue_end(
  p_concert_id text, p_token_id text, p_reason text, p_now timestamptz, p_stale_before timestamptz,
  p_promote boolean, p_per_tick integer, p_cap integer, p_until timestamptz, p_max_until timestamptz
) returns boolean
language plpgsql as $$
declare
  v_lapsed text;
begin
  if p_promote then perform queue_lock_tick(p_concert_id); end if;
  with e as (
    select q.token_id,
      queue_lapse_reason(q.status, q.last_seen_at, q.active_until, q.active_max_until, p_now, p_stale_before) as lapsed
    from queue_entries q where q.token_id = p_token_id and q.concert_id = p_concert_id and q.status <> 'EXPIRED'
    for update
  )
  update queue_entries q set status = 'EXPIRED', ended_at = p_now, end_reason = coalesce(e.lapsed, p_reason)
  from e where q.token_id = e.token_id
  returning e.lapsed into v_lapsed;
  if not found or v_lapsed is not null then return false; end if;
  if p_promote then perform queue_admit_next(p_concert_id, p_now, p_stale_before, p_per_tick, p_cap, p_until, p_max_until); end if;
  return true;
end $$
