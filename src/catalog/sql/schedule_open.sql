-- Whether a date still takes holds and payments: false once an operator has cancelled it (its
-- refunds may still be running). Called by reservation's hold_seat and reservation_confirm; reads
-- the schedule row without locking it, so a hold or payment already running when the
-- cancellation commits may still finish: the cancellation's batches release or refund it.
create or replace function schedule_open(p_schedule_id text) returns boolean
language sql stable as $$
  select coalesce((select status = 'ON_SALE' from schedules where id = p_schedule_id), false)
$$
