-- One admission tick of a concert, run at most once per tick window floor(now / tick) however
-- many processes call it: the concert's row in queue_ticks is claimed for the window, which also
-- takes its tick lock; then waiting entries that stopped polling and admissions past their idle
-- or hard limit end with their reason, and the next in line are admitted (queue_admit_next).
create or replace function queue_tick(
  p_concert_id text, p_now timestamptz, p_now_ms bigint, p_tick_ms integer, p_stale_before timestamptz,
  p_per_tick integer, p_cap integer, p_until timestamptz, p_max_until timestamptz
) returns table (ran boolean, admitted integer, expired integer)
language plpgsql as $$
declare
  v_expired integer;
begin
  insert into queue_ticks (concert_id, last_tick_at) values (p_concert_id, 0) on conflict do nothing;
  update queue_ticks t set last_tick_at = p_now_ms
  where t.concert_id = p_concert_id and div(p_now_ms, p_tick_ms) > div(t.last_tick_at, p_tick_ms);
  if not found then
    return query select false, 0, 0;
    return;
  end if;
  update queue_entries q set status = 'EXPIRED', ended_at = p_now,
    end_reason = queue_lapse_reason(q.status, q.last_seen_at, q.active_until, q.active_max_until, p_now, p_stale_before)
  where q.concert_id = p_concert_id
    and ((q.status = 'WAITING' and q.last_seen_at <= p_stale_before) or (q.status = 'ACTIVE' and q.active_until <= p_now));
  get diagnostics v_expired = row_count;
  return query select true, queue_admit_next(p_concert_id, p_now, p_stale_before, p_per_tick, p_cap, p_until, p_max_until), v_expired;
end $$
