-- Locks a user's wallet until the transaction ends and returns its balance; a user's first use
-- opens the wallet at zero. Every change of a balance by another component's function starts
-- here, so a user's payments are serialised and the wallet is the first lock, as the lock order
-- defined in reservation/sql/hold_end.sql says. PL/pgSQL, not SQL: called from another function,
-- its statements keep their plans instead of being planned on every call (about 20 µs a payment).
create or replace function wallet_lock(p_user_id text) returns bigint
language plpgsql as $$
declare
  bal bigint;
begin
  insert into wallets (user_id, balance) values (p_user_id, 0) on conflict (user_id) do nothing;
  select balance into bal from wallets where user_id = p_user_id for update;
  return bal;
end $$
