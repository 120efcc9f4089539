-- Stores the answer of a key claimed by idempotency_claim, in the transaction of the work it
-- answers: a replay can never disagree with what happened. PL/pgSQL, not SQL: called from
-- another function, its update keeps its plan instead of being planned on every call.
create or replace function idempotency_answer(p_user_id text, p_route text, p_key text, p_answer jsonb) returns void
language plpgsql as $$
begin
  update idempotency_keys set answer = p_answer where user_id = p_user_id and route = p_route and key = p_key;
end $$
