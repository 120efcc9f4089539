-- Writes an event to the outbox, in the caller's transaction: it exists if and only if the change
-- that calls this commits. The id is `evt_` and a UUIDv7 of p_at, so ids sort by time; the
-- sequence is given after commit by events_sequence. Returns the id.
create or replace function events_emit(p_type text, p_data jsonb, p_at timestamptz) returns text
language plpgsql as $$
declare
  hex text := replace(gen_random_uuid()::text, '-', '');
  id text;
begin
  hex := overlay(hex placing lpad(to_hex((extract(epoch from p_at) * 1000)::bigint), 12, '0') from 1 for 12);
  id := 'evt_' || overlay(hex placing '7' from 13 for 1);
  insert into events (id, type, occurred_at, data) values (id, p_type, p_at, p_data);
  return id;
end $$
