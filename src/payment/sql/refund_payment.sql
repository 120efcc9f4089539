-- Refunds one paid reservation (refund_payments, which does the work and says the lock order),
-- owned by p_user_id when given. Returns the outcome, REFUNDED, or NOT_FOUND, NOT_PAID or
-- ALREADY_REFUNDED with nothing changed, with the refund's figures.
create or replace function refund_payment(
  p_reservation_id text, p_user_id text, p_fee_basis_points integer, p_reason text, p_now timestamptz
) returns table (outcome text, refund_id text, amount bigint, fee bigint, balance bigint, schedule_id text,
                 concert_id text)
language plpgsql as $$
#variable_conflict use_column
declare
  made record;
  r reservations%rowtype;
begin
  if not exists (select 1 from reservations where id = p_reservation_id and (p_user_id is null or user_id = p_user_id)) then
    return query select 'NOT_FOUND', null::text, null::bigint, null::bigint, null::bigint, null::text, null::text;
    return;
  end if;
  select * into made from refund_payments(array[p_reservation_id], p_fee_basis_points, p_reason, p_now);
  if found then
    return query select 'REFUNDED', made.refund_id, made.amount, made.fee, made.balance, made.schedule_id, made.concert_id;
    return;
  end if;
  select * into r from reservations where id = p_reservation_id;
  return query select case when r.status = 'REFUNDED' then 'ALREADY_REFUNDED' else 'NOT_PAID' end, null::text,
    null::bigint, null::bigint, null::bigint, r.schedule_id, r.concert_id;
end $$
