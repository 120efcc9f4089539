-- A reservation as the API shows it (GET /v1/me/reservations), with its user, for its events.
create or replace function reservation_data(r reservations) returns jsonb
language sql stable as $$
  select jsonb_build_object(
    'reservationId', r.id, 'userId', r.user_id, 'concertId', r.concert_id, 'scheduleId', r.schedule_id,
    'seatNo', r.seat_no, 'price', r.price, 'status', r.status, 'heldUntil', event_time(r.held_until),
    'createdAt', event_time(r.created_at), 'startsAt', event_time(r.schedule_starts_at))
$$
