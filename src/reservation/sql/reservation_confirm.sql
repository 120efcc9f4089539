-- Confirms a paid hold: the reservation is the user's and live, of p_concert_id when given, its
-- date has not started, and its price is within p_budget; then its seat is sold and it is
-- CONFIRMED. Returns the outcome (CONFIRMED, NOT_FOUND, WRONG_CONCERT, ALREADY_PAID,
-- HOLD_RELEASED, HOLD_EXPIRED, SCHEDULE_CLOSED, SCHEDULE_CANCELLED (catalog/sql/schedule_open.sql),
-- or INSUFFICIENT_BALANCE when the price is over the budget) with the price, schedule and concert;
-- nothing changes unless CONFIRMED. The caller holds the user's wallet lock; the seat and the
-- reservation are then locked by hold_end, in the order defined in hold_end.sql.
create or replace function reservation_confirm(
  p_reservation_id text, p_user_id text, p_now timestamptz, p_concert_id text, p_budget bigint
) returns table (outcome text, price bigint, schedule_id text, concert_id text)
language plpgsql as $$
#variable_conflict use_column
declare
  r reservations%rowtype;
begin
  select * into r from reservations where id = p_reservation_id and user_id = p_user_id;
  if not found then return query select 'NOT_FOUND', null::bigint, null::text, null::text; return; end if;
  if p_concert_id is not null and r.concert_id <> p_concert_id then
    return query select 'WRONG_CONCERT', r.price, r.schedule_id, r.concert_id; return;
  end if;
  if r.status = 'CONFIRMED' then return query select 'ALREADY_PAID', r.price, r.schedule_id, r.concert_id; return; end if;
  if r.status = 'RELEASED' then return query select 'HOLD_RELEASED', r.price, r.schedule_id, r.concert_id; return; end if;
  if r.status <> 'HELD' or r.held_until <= p_now then
    return query select 'HOLD_EXPIRED', r.price, r.schedule_id, r.concert_id; return;
  end if;
  if r.schedule_starts_at <= p_now then
    return query select 'SCHEDULE_CLOSED', r.price, r.schedule_id, r.concert_id; return;
  end if;
  if not schedule_open(r.schedule_id) then
    return query select 'SCHEDULE_CANCELLED', r.price, r.schedule_id, r.concert_id; return;
  end if;
  if r.price > p_budget then return query select 'INSUFFICIENT_BALANCE', r.price, r.schedule_id, r.concert_id; return; end if;
  if not hold_end(r.id, r.schedule_id, r.seat_no, p_now, 'CONFIRMED') then
    -- Released or taken over since it was read: say which.
    select * into r from reservations where id = p_reservation_id;
    return query select case when r.status = 'RELEASED' then 'HOLD_RELEASED' else 'HOLD_EXPIRED' end, r.price,
      r.schedule_id, r.concert_id;
    return;
  end if;
  return query select 'CONFIRMED', r.price, r.schedule_id, r.concert_id;
end $$
