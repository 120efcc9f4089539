-- The reservations of a date still held or paid, up to p_limit, in the order of their owners and
-- then their ids: a cancellation's batch takes them in this order, so two batches lock wallets in
-- one order.
create or replace function schedule_open_reservations(p_schedule_id text, p_limit integer)
returns table (id text, status text)
language sql stable as $$
  select r.id, r.status from reservations r
  where r.schedule_id = p_schedule_id and r.status in ('HELD', 'CONFIRMED')
  order by r.user_id, r.id limit p_limit
$$
