-- Locks the wallets of many users until the transaction ends, in the order of their ids (so two
-- transactions that lock overlapping sets cannot deadlock); a user's first use opens the wallet
-- at zero. The batch form of wallet_lock: the first lock of the order defined in
-- reservation/sql/hold_end.sql.
create or replace function wallet_lock_many(p_user_ids text[]) returns void
language plpgsql as $$
begin
  insert into wallets (user_id, balance) select distinct u, 0 from unnest(p_user_ids) u order by 1
    on conflict (user_id) do nothing;
  perform 1 from wallets where user_id = any(p_user_ids) order by user_id for update;
end $$
