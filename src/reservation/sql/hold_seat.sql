-- Holds a seat, on a date that is not cancelled (catalog/sql/schedule_open.sql). A
-- transaction-scoped lock on the user serialises their own holds, so the two limits hold however
-- many arrive at once: at most p_max_holds live holds on this date, and at most p_max_tickets live
-- holds plus paid seats for this concert, all dates together. The seat's conditional update treats
-- a hold past its deadline as free. Returns HELD, HOLD_LIMIT_REACHED, TICKET_LIMIT,
-- SEAT_UNAVAILABLE or SCHEDULE_CANCELLED; nothing changes unless HELD. A held seat writes its event
-- (reservation.held), and a lapsed hold it takes over becomes EXPIRED with its event. Locks in the
-- order defined in hold_end.sql: the user's hold lock, then the seat row, then the reservation rows.
create or replace function hold_seat(
  p_reservation_id text, p_user_id text, p_concert_id text, p_schedule_id text, p_seat_no integer,
  p_price bigint, p_now timestamptz, p_held_until timestamptz, p_queue_token_id text, p_max_holds integer,
  p_schedule_starts_at timestamptz, p_max_tickets integer
) returns text language plpgsql as $$
declare
  live integer;
  tickets integer;
  lapsed text;
  r reservations%rowtype;
begin
  if not schedule_open(p_schedule_id) then return 'SCHEDULE_CANCELLED'; end if;
  perform pg_advisory_xact_lock(hashtextextended('hold:' || p_user_id, 0));
  select count(*) into live from reservations
    where user_id = p_user_id and schedule_id = p_schedule_id and status = 'HELD' and held_until > p_now;
  if live >= p_max_holds then return 'HOLD_LIMIT_REACHED'; end if;
  select count(*) into tickets from reservations
    where user_id = p_user_id and concert_id = p_concert_id
      and (status = 'CONFIRMED' or (status = 'HELD' and held_until > p_now));
  if tickets >= p_max_tickets then return 'TICKET_LIMIT'; end if;
  -- The seat is locked first, so the lapsed hold read here is the one this update takes over.
  select reservation_id into lapsed from seats
    where schedule_id = p_schedule_id and seat_no = p_seat_no and status = 'HELD' and held_until <= p_now
    for update;
  update seats set status = 'HELD', reservation_id = p_reservation_id, held_until = p_held_until
    where schedule_id = p_schedule_id and seat_no = p_seat_no
      and (status = 'AVAILABLE' or (status = 'HELD' and held_until <= p_now));
  if not found then return 'SEAT_UNAVAILABLE'; end if;
  if lapsed is not null then
    update reservations set status = 'EXPIRED', updated_at = p_now where id = lapsed and status = 'HELD' returning * into r;
    if found then perform events_emit('reservation.expired', reservation_data(r), p_now); end if;
  end if;
  insert into reservations (id, user_id, concert_id, schedule_id, seat_no, price, status, held_until,
                            queue_token_id, schedule_starts_at, created_at, updated_at)
    values (p_reservation_id, p_user_id, p_concert_id, p_schedule_id, p_seat_no, p_price, 'HELD', p_held_until,
            p_queue_token_id, p_schedule_starts_at, p_now, p_now)
    returning * into r;
  perform events_emit('reservation.held', reservation_data(r), p_now);
  return 'HELD';
end $$
