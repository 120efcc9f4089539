-- THE LOCK ORDER of every transaction that books, is defined here: first the user (the wallet
-- row, wallet_lock.sql, for a payment; the user's hold lock, hold_seat.sql, for a hold), then the
-- seat row, then the reservation row. A transaction that takes them in this order cannot
-- deadlock with another. This function takes the last two: it ends a live hold, its seat first
-- (SOLD when p_status is CONFIRMED, AVAILABLE when RELEASED), then its reservation, and returns
-- whether it did (false when the hold was no longer live; nothing changes then). A release writes
-- its event (reservation.released); a confirmed hold's event is its payment's. The caller has
-- taken the user's lock, if it needs one, before calling.
create or replace function hold_end(
  p_reservation_id text, p_schedule_id text, p_seat_no integer, p_now timestamptz, p_status text
) returns boolean language plpgsql as $$
begin
  if p_status = 'CONFIRMED' then
    update seats set status = 'SOLD', held_until = null
      where schedule_id = p_schedule_id and seat_no = p_seat_no and reservation_id = p_reservation_id
        and status = 'HELD' and held_until > p_now;
  else
    update seats set status = 'AVAILABLE', reservation_id = null, held_until = null
      where schedule_id = p_schedule_id and seat_no = p_seat_no and reservation_id = p_reservation_id
        and status = 'HELD' and held_until > p_now;
  end if;
  if not found then return false; end if;
  update reservations set status = p_status, updated_at = p_now where id = p_reservation_id;
  if p_status = 'RELEASED' then
    perform events_emit('reservation.released', reservation_data(r), p_now) from reservations r where r.id = p_reservation_id;
  end if;
  return true;
end $$
