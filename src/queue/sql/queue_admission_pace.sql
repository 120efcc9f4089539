-- The pace of a concert's admission, for the wait estimates: the admissions after p_since and up
-- to p_now (the last minute), when the first of them was, and the fans active at p_now.
create or replace function queue_admission_pace(p_concert_id text, p_since timestamptz, p_now timestamptz)
returns table (admitted integer, first_admitted_at timestamptz, active integer)
language sql stable as $$
  select count(*)::integer, min(q.admitted_at),
    (select count(*)::integer from queue_entries x where x.concert_id = p_concert_id and x.status = 'ACTIVE'
       and x.active_until > p_now)
  from queue_entries q
  where q.concert_id = p_concert_id and q.admitted_at > p_since and q.admitted_at <= p_now
$$
