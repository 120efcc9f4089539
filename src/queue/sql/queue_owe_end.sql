-- Records, in the caller's transaction (a payment's), that a queue token must end: the queue
-- ends it right after the commit, or its loop does later if that fails. Owing twice is owing once.
-- PL/pgSQL, not SQL: called from another function, its insert keeps its plan instead of being
-- planned on every call.
create or replace function queue_owe_end(p_token_id text, p_concert_id text, p_now timestamptz) returns void
language plpgsql as $$
begin
  insert into queue_owed_ends (token_id, concert_id, owed_since) values (p_token_id, p_concert_id, p_now)
  on conflict (token_id) do nothing;
end $$
