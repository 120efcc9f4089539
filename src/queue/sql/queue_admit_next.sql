-- Admits the next in line of a concert, in order, at most p_per_tick (-1: no limit) and keeping
-- at most p_cap active at once (-1: no limit); a waiting entry that stopped polling (last seen at
-- or before p_stale_before) is passed over, for the tick to end. An admission lasts until
-- p_until unless used, and until p_max_until whatever happens. The caller holds the concert's
-- tick lock (queue_lock_tick). Returns how many it admitted.
create or replace function queue_admit_next(
  p_concert_id text, p_now timestamptz, p_stale_before timestamptz, p_per_tick integer, p_cap integer,
  p_until timestamptz, p_max_until timestamptz
) returns integer
language plpgsql as $$
declare
  v_n bigint := case when p_per_tick < 0 then 1000000 else least(p_per_tick, 1000000) end;
  v_active bigint;
  v_admitted integer;
begin
  if p_cap >= 0 then
    select count(*) into v_active from queue_entries q
    where q.concert_id = p_concert_id and q.status = 'ACTIVE' and q.active_until > p_now;
    v_n := least(v_n, p_cap - v_active);
  end if;
  if v_n <= 0 then return 0; end if;
  update queue_entries q set status = 'ACTIVE', admitted_at = p_now, active_until = p_until, active_max_until = p_max_until
  where q.status = 'WAITING' and q.token_id in (
    select w.token_id from queue_entries w
    where w.concert_id = p_concert_id and w.status = 'WAITING' and w.last_seen_at > p_stale_before
    order by w.order_key, w.token_id limit v_n
    for update
  );
  get diagnostics v_admitted = row_count;
  return v_admitted;
end $$
