-- The database floor's one function, shaped like a payment: two rows locked and updated (an
-- account debited, an item sold), two rows inserted (a payment and its ledger entry), all in the
-- one transaction of the statement that calls it. Returns the account's new balance.
create or replace function floor_pay(p_account integer, p_item integer, p_amount bigint, p_id text, p_now timestamptz)
returns bigint language plpgsql as $$
declare
  bal bigint;
begin
  update floor_accounts set balance = balance - p_amount where id = p_account returning balance into bal;
  update floor_items set status = 'SOLD', sold_to = p_account where id = p_item;
  insert into floor_payments (id, account_id, item_id, amount, created_at) values (p_id, p_account, p_item, p_amount, p_now);
  insert into floor_ledger (account_id, amount, balance_after, ref_id, created_at) values (p_account, -p_amount, bal, p_id, p_now);
  return bal;
end $$
