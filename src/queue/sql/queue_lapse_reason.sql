-- Why a live queue entry has ended by now, or null while it is live: a waiting entry that has not
-- polled since p_stale_before, or an admission past its idle limit or its hard limit.
create or replace function queue_lapse_reason(
  p_status text, p_last_seen_at timestamptz, p_active_until timestamptz, p_active_max_until timestamptz,
  p_now timestamptz, p_stale_before timestamptz
) returns text language sql immutable as $$
  select case
    when p_status = 'WAITING' and p_last_seen_at <= p_stale_before then 'WAITING_IDLE'
    when p_status = 'ACTIVE' and p_active_until <= p_now and p_active_until >= p_active_max_until then 'HARD_LIMIT'
    when p_status = 'ACTIVE' and p_active_until <= p_now then 'ACTIVE_IDLE'
  end
$$
