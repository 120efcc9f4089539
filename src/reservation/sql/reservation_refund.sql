-- Frees the seats of paid reservations and marks them REFUNDED: seats first, then the
-- reservations, in the lock order defined in hold_end.sql (the caller has taken the wallet locks).
-- Returns the reservations it refunded; one that is not CONFIRMED (held, released, expired, or
-- refunded already) is left as it is and not returned. The refund's money and events are its
-- caller's (payment/sql/refund_payments.sql).
create or replace function reservation_refund(p_reservation_ids text[], p_now timestamptz)
returns table (reservation_id text, user_id text, concert_id text, schedule_id text)
language sql as $$
  with freed as (
    update seats s set status = 'AVAILABLE', reservation_id = null, held_until = null
    from reservations r
    where r.id = any(p_reservation_ids) and s.schedule_id = r.schedule_id and s.seat_no = r.seat_no
      and s.reservation_id = r.id and s.status = 'SOLD'
    returning r.id
  )
  update reservations r set status = 'REFUNDED', updated_at = p_now
  where r.id in (select id from freed) and r.status = 'CONFIRMED'
  returning r.id, r.user_id, r.concert_id, r.schedule_id
$$
