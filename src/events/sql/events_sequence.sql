-- Numbers committed events that have no sequence yet (at most p_limit, in the order they were
-- written, so an event caused by another comes after it), one relay at a time: the relay that
-- locks the counter's row (event_counter, in this schema) numbers, the others skip. The numbers
-- follow on from the last ever given, which the same transaction moves on, so they only ever
-- increase, even once retention has deleted every event, and a reader never sees a number appear
-- below one it has read. Each event numbered gets a pending delivery for every webhook subscribed
-- to its type (or to "*"), due at once. Returns how many events it numbered (0 while another
-- relay is numbering). With p_publish (NATS_URL set), each is also to be published to JetStream.
create or replace function events_sequence(p_limit integer, p_now timestamptz, p_publish boolean) returns integer
language plpgsql as $$
declare
  base bigint;
  numbered integer;
begin
  select last_sequence into base from event_counter for update skip locked;
  if not found then return 0; end if;
  with next as (
    select e.id, base + row_number() over (order by e.written) as seq
    from (select id, written from events where sequence is null order by written limit p_limit) e
  ), given as (
    update events e set sequence = next.seq from next where e.id = next.id returning e.id, e.type, e.sequence
  ), fanned as (
    insert into webhook_deliveries (webhook_id, event_id, sequence, status, attempts, next_attempt_at)
    select w.id, g.id, g.sequence, 'pending', 0, p_now
    from given g join webhooks w on w.events ? g.type or w.events ? '*'
    returning 1
  ), published as (
    insert into event_publications (event_id, sequence) select g.id, g.sequence from given g where p_publish
    returning 1
  )
  select count(*) into numbered from given;
  if numbered > 0 then update event_counter set last_sequence = base + numbered; end if;
  return numbered;
end $$
