-- A concert's queue settings changes with a new change over them: each field given replaces the
-- earlier one, and the adaptive fields are merged one by one, so a change of one bound keeps the
-- others.
create or replace function queue_settings_merge(p_old jsonb, p_new jsonb) returns jsonb
language sql immutable as $$
  select case
    when p_new ? 'adaptive' then
      p_old || p_new || jsonb_build_object('adaptive', coalesce(p_old -> 'adaptive', '{}'::jsonb) || (p_new -> 'adaptive'))
    else p_old || p_new
  end
$$
