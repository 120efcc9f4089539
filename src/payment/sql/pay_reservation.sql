-- Pays a hold, all or nothing, in one statement: with an Idempotency-Key (p_key, of the route
-- p_key_route, for the body p_key_body), the key is claimed first (idempotency/sql/idempotency_claim.sql)
-- and, when it is taken, nothing else happens and key_taken is true. Then the user's wallet is
-- locked, the hold is confirmed if it is the user's, live, of p_concert_id (when given) and within
-- the balance, then the balance goes down by its price (with its ledger entry), the payment is
-- written and so is the key's answer. Returns the outcome (PAID, or the refusal of
-- reservation_confirm) with the price, the balance, and the reservation's schedule and concert;
-- nothing changes unless PAID but the key's claim, which the caller then answers with the refusal
-- or frees. The queue token p_queue_token_id of p_queue_concert_id is owed its end in the same
-- transaction (queue_owe_end), and the payment writes its event (payment.succeeded) there too.
-- Locks in the order defined in reservation/sql/hold_end.sql, after the key's own row: the wallet
-- (wallet_lock), then the seat and the reservation (reservation_confirm, through hold_end);
-- queue_owe_end and the event only insert.
create or replace function pay_reservation(
  p_payment_id text, p_user_id text, p_reservation_id text, p_now timestamptz, p_concert_id text,
  p_queue_token_id text, p_queue_concert_id text,
  p_key text, p_key_route text, p_key_body jsonb, p_key_lease_before timestamptz
) returns table (outcome text, price bigint, balance bigint, schedule_id text, concert_id text, key_taken boolean)
language plpgsql as $$
#variable_conflict use_column
declare
  bal bigint;
  c record;
begin
  if p_key is not null and not idempotency_claim(p_user_id, p_key_route, p_key, p_key_body, p_now, p_key_lease_before) then
    return query select null::text, null::bigint, null::bigint, null::text, null::text, true; return;
  end if;
  bal := wallet_lock(p_user_id);
  select * into c from reservation_confirm(p_reservation_id, p_user_id, p_now, p_concert_id, bal);
  if c.outcome <> 'CONFIRMED' then
    return query select c.outcome, c.price, bal, c.schedule_id, c.concert_id, false; return;
  end if;
  bal := wallet_move(p_user_id, 'PAYMENT', -c.price, p_payment_id, p_now);
  insert into payments (id, user_id, reservation_id, amount, created_at)
    values (p_payment_id, p_user_id, p_reservation_id, c.price, p_now);
  perform queue_owe_end(p_queue_token_id, p_queue_concert_id, p_now);
  perform events_emit('payment.succeeded', jsonb_build_object(
    'paymentId', p_payment_id, 'reservationId', p_reservation_id, 'userId', p_user_id, 'amount', c.price,
    'balance', bal, 'status', 'PAID'), p_now);
  if p_key is not null then
    perform idempotency_answer(p_user_id, p_key_route, p_key, jsonb_build_object('ok', jsonb_build_object(
      'paymentId', p_payment_id, 'reservationId', p_reservation_id, 'amount', c.price, 'balance', bal, 'status', 'PAID',
      'scheduleId', c.schedule_id, 'concertId', c.concert_id)));
  end if;
  return query select 'PAID', c.price, bal, c.schedule_id, c.concert_id, false;
end $$
