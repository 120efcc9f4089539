-- Keeps the decision taken on a window of a concert, unless a later window has been taken since.
create or replace function queue_adaptive_save(p_concert_id text, p_window bigint, p_decision jsonb) returns void
language sql as $$
  update queue_adaptive set decision = p_decision where concert_id = p_concert_id and taken_window = p_window
$$
