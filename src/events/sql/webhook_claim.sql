-- Claims due deliveries for this relay until p_lease_until: at most p_per_endpoint each of at most
-- p_endpoints endpoints that are not backing off and not in p_skip (a JSON array of webhook ids
-- this relay is still sending to), or of the endpoint p_only alone when it is given. Rows another relay is claiming are skipped (SKIP LOCKED), and a
-- claimed row is not due again until its lease passes, so relays never send one attempt twice
-- while they live, and a dead relay's claims come back. Returns each claimed delivery with its
-- endpoint and event.
create or replace function webhook_claim(
  p_now timestamptz, p_lease_until timestamptz, p_per_endpoint integer, p_endpoints integer, p_skip jsonb, p_only text
) returns table (
  webhook_id text, url text, secret text, event_id text, sequence bigint, type text, occurred_at timestamptz,
  data jsonb, attempts integer
)
language plpgsql as $$
#variable_conflict use_column
begin
  return query
  with endpoints as (
    select w.id, w.url, w.secret from webhooks w
    where (w.retry_at is null or w.retry_at <= p_now) and not (p_skip ? w.id) and (p_only is null or w.id = p_only)
      and exists (
        select 1 from webhook_deliveries d
        where d.webhook_id = w.id and d.status = 'pending' and d.next_attempt_at <= p_now
          and (d.lease_until is null or d.lease_until <= p_now))
    order by w.id
    limit p_endpoints
  ), claimed as (
    select c.webhook_id, c.event_id from endpoints w cross join lateral (
      select d.webhook_id, d.event_id from webhook_deliveries d
      where d.webhook_id = w.id and d.status = 'pending' and d.next_attempt_at <= p_now
        and (d.lease_until is null or d.lease_until <= p_now)
      order by d.sequence
      limit p_per_endpoint
      for update skip locked) c
  ), leased as (
    update webhook_deliveries d set lease_until = p_lease_until
    from claimed c where d.webhook_id = c.webhook_id and d.event_id = c.event_id
    returning d.webhook_id, d.event_id, d.attempts
  )
  select l.webhook_id, w.url, w.secret, e.id, e.sequence, e.type, e.occurred_at, e.data, l.attempts
  from leased l join endpoints w on w.id = l.webhook_id join events e on e.id = l.event_id
  order by l.webhook_id, e.sequence;
end $$
