-- Moves a user's balance by p_amount (+ a charge, − a payment) and writes its ledger entry in
-- the same statement, so the balance always equals the sum of its ledger. Returns the new
-- balance, or null when the balance would go below zero (nothing changes then). A charge writes
-- its event (balance.charged) in the same transaction.
create or replace function wallet_move(p_user_id text, p_kind text, p_amount bigint, p_ref_id text, p_now timestamptz)
returns bigint language plpgsql as $$
declare
  bal bigint;
begin
  insert into wallets (user_id, balance) values (p_user_id, 0) on conflict (user_id) do nothing;
  with w as (
    update wallets set balance = balance + p_amount where user_id = p_user_id and balance + p_amount >= 0 returning balance
  )
  insert into balance_ledger (user_id, kind, amount, balance_after, ref_id, created_at)
  select p_user_id, p_kind, p_amount, w.balance, p_ref_id, p_now from w
  returning balance_after into bal;
  if bal is not null and p_kind = 'CHARGE' then
    perform events_emit('balance.charged', jsonb_build_object(
      'chargeId', p_ref_id, 'userId', p_user_id, 'amount', p_amount, 'balance', bal), p_now);
  end if;
  return bal;
end $$
