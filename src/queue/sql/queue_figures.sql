-- A concert's figures for operators: entries waiting (seen after p_stale_before), admissions
-- live at p_now, admissions after p_since (the last minute) and their median wait in seconds.
create or replace function queue_figures(p_concert_id text, p_now timestamptz, p_stale_before timestamptz, p_since timestamptz)
returns table (waiting integer, active integer, admitted integer, p50 float8)
language sql stable as $$
  select
    (select count(*)::integer from queue_entries w where w.concert_id = p_concert_id and w.status = 'WAITING'
       and w.last_seen_at > p_stale_before),
    (select count(*)::integer from queue_entries x where x.concert_id = p_concert_id and x.status = 'ACTIVE'
       and x.active_until > p_now),
    a.admitted, a.p50
  from (
    select count(*)::integer as admitted,
      percentile_cont(0.5) within group (order by greatest(0, extract(epoch from q.admitted_at - q.joined_at)))::float8 as p50
    from queue_entries q
    where q.concert_id = p_concert_id and q.admitted_at > p_since and q.admitted_at <= p_now
  ) a
$$
