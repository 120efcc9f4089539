-- The decision last kept for a concert (queue_adaptive_save); null before any.
create or replace function queue_adaptive_decision(p_concert_id text) returns jsonb
language sql stable as $$
  select a.decision from queue_adaptive a where a.concert_id = p_concert_id
$$
