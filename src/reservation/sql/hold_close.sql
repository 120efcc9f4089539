-- Ends a hold whose date is cancelled: a live hold is RELEASED (hold_end, with its event), a hold
-- past its deadline becomes EXPIRED with its seat freed (with its event). Seat, then reservation:
-- the lock order defined in hold_end.sql. False if the reservation was no longer HELD.
create or replace function hold_close(p_reservation_id text, p_now timestamptz) returns boolean
language plpgsql as $$
declare
  r reservations%rowtype;
begin
  select * into r from reservations where id = p_reservation_id and status = 'HELD';
  if not found then return false; end if;
  if r.held_until > p_now then
    return hold_end(r.id, r.schedule_id, r.seat_no, p_now, 'RELEASED');
  end if;
  update seats set status = 'AVAILABLE', reservation_id = null, held_until = null
    where schedule_id = r.schedule_id and seat_no = r.seat_no and reservation_id = r.id and status = 'HELD';
  update reservations set status = 'EXPIRED', updated_at = p_now where id = r.id and status = 'HELD' returning * into r;
  if not found then return false; end if;
  perform events_emit('reservation.expired', reservation_data(r), p_now);
  return true;
end $$
