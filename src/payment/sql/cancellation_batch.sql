-- One batch of a date's cancellation: up to p_limit of its held and paid reservations, in the
-- order of their owners (reservation's schedule_open_reservations). The paid ones are refunded in
-- full together (refund_payments, reason CANCELLED: one statement a step, not one a seat), the
-- held ones closed (reservation's hold_close). Returns how many reservations it took: 0 when
-- nothing is left. Every step checks the rows' states under their locks, so a batch that runs
-- twice (a process died after committing it, or two processes met) ends nothing twice.
create or replace function cancellation_batch(p_schedule_id text, p_limit integer, p_now timestamptz) returns integer
language plpgsql as $$
declare
  paid text[];
  held text[];
  id text;
begin
  select array_agg(o.id) filter (where o.status = 'CONFIRMED'), array_agg(o.id) filter (where o.status = 'HELD')
    into paid, held from schedule_open_reservations(p_schedule_id, p_limit) o;
  if paid is not null then perform refund_payments(paid, 0, 'CANCELLED', p_now); end if;
  foreach id in array coalesce(held, '{}') loop perform hold_close(id, p_now); end loop;
  return coalesce(cardinality(paid), 0) + coalesce(cardinality(held), 0);
end $$
