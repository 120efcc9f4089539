-- Refunds paid reservations, all in the caller's transaction, each at most once per payment:
-- their owners' wallets are locked (wallet_lock_many, in the order of the owners), their seats
-- freed and the reservations REFUNDED (reservation_refund, seats then reservations: the lock order
-- defined in reservation/sql/hold_end.sql); then for each, the price less the fee goes back to the
-- balance with its ledger entry (wallet_credit_many, kind REFUND), the refund is written (its
-- primary key is the payment: a second refund of one payment cannot be written) with its event
-- (payment.refunded). The fee is p_fee_basis_points of the price (100 = 1 %), the amount back
-- rounded down to whole won. A reservation that is not paid (or is refunded already) is skipped.
-- Returns the refunds made.
create or replace function refund_payments(
  p_reservation_ids text[], p_fee_basis_points integer, p_reason text, p_now timestamptz
) returns table (refund_id text, reservation_id text, user_id text, amount bigint, fee bigint, balance bigint,
                 schedule_id text, concert_id text)
language plpgsql as $$
#variable_conflict use_column
declare
  rsv text[]; users text[]; backs bigint[]; fees bigint[]; rids text[]; pids text[]; dates text[]; concerts text[];
  bals bigint[];
begin
  perform wallet_lock_many(array(select r.user_id from reservations r where r.id = any(p_reservation_ids)));
  select array_agg(f.reservation_id order by f.user_id, f.reservation_id),
         array_agg(f.user_id order by f.user_id, f.reservation_id),
         array_agg((p.amount * (10000 - p_fee_basis_points)) / 10000 order by f.user_id, f.reservation_id),
         array_agg(p.amount - (p.amount * (10000 - p_fee_basis_points)) / 10000 order by f.user_id, f.reservation_id),
         -- One refund per payment: its id follows from the payment's.
         array_agg('rfd_' || substr(p.id, 5) order by f.user_id, f.reservation_id),
         array_agg(p.id order by f.user_id, f.reservation_id),
         array_agg(f.schedule_id order by f.user_id, f.reservation_id),
         array_agg(f.concert_id order by f.user_id, f.reservation_id)
    into rsv, users, backs, fees, rids, pids, dates, concerts
    from reservation_refund(p_reservation_ids, p_now) f join payments p on p.reservation_id = f.reservation_id;
  if rsv is null then return; end if;
  insert into refunds (payment_id, id, reservation_id, user_id, amount, fee, reason, schedule_id, created_at)
    select pid, rid, r, u, a, f, p_reason, d, p_now from unnest(pids, rids, rsv, users, backs, fees, dates) as x(pid, rid, r, u, a, f, d);
  select array_agg(c.balance_after order by array_position(rids, c.ref_id)) into bals
    from wallet_credit_many(users, backs, rids, 'REFUND', p_now) c;
  perform events_emit('payment.refunded', jsonb_build_object(
    'refundId', rid, 'reservationId', r, 'userId', u, 'amount', a, 'fee', f, 'balance', b, 'status', 'REFUNDED'), p_now)
    from unnest(rids, rsv, users, backs, fees, bals) as x(rid, r, u, a, f, b);
  return query select * from unnest(rids, rsv, users, backs, fees, bals, dates, concerts);
end $$
