-- Claims an Idempotency-Key for work done in the caller's statement (a payment's), in its
-- transaction: true when the work may run, because the key was free or its first request died
-- (claimed before p_lease_before, never answered, with the same body), and then the claim commits
-- with the work, or not at all. False when the key has an answer, a live claim, or another body:
-- nothing changes, and the caller reads the key (IdempotencyService.once). A twin claiming the same
-- key at the same moment waits here until the first one's transaction ends.
create or replace function idempotency_claim(
  p_user_id text, p_route text, p_key text, p_body jsonb, p_now timestamptz, p_lease_before timestamptz
) returns boolean language plpgsql as $$
begin
  insert into idempotency_keys (user_id, route, key, request_body, answer, created_at)
    values (p_user_id, p_route, p_key, p_body, null, p_now)
    on conflict do nothing;
  if found then return true; end if;
  update idempotency_keys set created_at = p_now
    where user_id = p_user_id and route = p_route and key = p_key
      and answer is null and created_at < p_lease_before and request_body = p_body;
  return found;
end $$
