-- Adds one process's counts of a window to a concert's booking health, bucket by bucket (so the
-- counts of every process add up), with its failures and purchases done, and forgets the
-- concert's windows before p_keep_from.
create or replace function queue_health_add(
  p_concert_id text, p_window bigint, p_buckets integer[], p_errors integer, p_served integer, p_keep_from bigint
) returns void
language plpgsql as $$
begin
  insert into queue_health as h (concert_id, window_no, buckets, errors, served)
  values (p_concert_id, p_window, p_buckets, p_errors, p_served)
  on conflict (concert_id, window_no) do update set
    buckets = array(
      select coalesce(a, 0) + coalesce(b, 0) from unnest(h.buckets, excluded.buckets) with ordinality as t(a, b, n) order by n
    ),
    errors = h.errors + excluded.errors,
    served = h.served + excluded.served;
  delete from queue_health h where h.concert_id = p_concert_id and h.window_no < p_keep_from;
end $$
