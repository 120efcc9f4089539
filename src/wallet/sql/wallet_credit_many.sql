-- Credits many balances at once (p_amounts ≥ 0, one entry per element, a user may appear more than
-- once) and writes each ledger entry with the balance after it, in the order given: the batch form
-- of wallet_move for refunds. The caller has locked the wallets (wallet_lock_many). Returns each
-- entry's reference and the balance after it.
create or replace function wallet_credit_many(
  p_user_ids text[], p_amounts bigint[], p_ref_ids text[], p_kind text, p_now timestamptz
) returns table (ref_id text, balance_after bigint)
language sql as $$
  with moves as (
    select m.user_id, m.amount, m.ref_id, m.ord
    from unnest(p_user_ids, p_amounts, p_ref_ids) with ordinality as m(user_id, amount, ref_id, ord)
  ),
  entries as (
    select m.user_id, m.amount, m.ref_id, m.ord,
           w.balance + sum(m.amount) over (partition by m.user_id order by m.ord) as balance_after
    from moves m join wallets w on w.user_id = m.user_id
  ),
  credited as (
    update wallets w set balance = w.balance + t.total
    from (select user_id, sum(amount) as total from moves group by user_id) t
    where w.user_id = t.user_id
  ),
  written as (
    insert into balance_ledger (user_id, kind, amount, balance_after, ref_id, created_at)
    select user_id, p_kind, amount, balance_after, ref_id, p_now from entries order by ord
    returning ref_id, balance_after
  )
  select ref_id, balance_after from written
$$
