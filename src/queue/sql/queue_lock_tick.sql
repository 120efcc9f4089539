-- Takes a concert's tick lock for the caller's transaction: its row in queue_ticks, made on first
-- use. Whoever counts or admits a concert's line holds it (queue_tick, queue_end with promotion),
-- always before any entry's row, so admitters in every process take their locks in one order.
create or replace function queue_lock_tick(p_concert_id text) returns void
language plpgsql as $$
begin
  insert into queue_ticks (concert_id, last_tick_at) values (p_concert_id, 0) on conflict do nothing;
  perform 1 from queue_ticks t where t.concert_id = p_concert_id for update;
end $$
