-- The adaptive controller's turn at a window of a concert: the concert's row in queue_adaptive is
-- claimed for the window by a conditional update, so one caller of all processes gets it; that
-- caller gets the window's merged booking health (with the purchases done), the admissions
-- during the window and the line's length now. Every other caller gets no row.
create or replace function queue_adaptive_take(p_concert_id text, p_window bigint, p_from timestamptz, p_until timestamptz)
returns table (buckets integer[], errors integer, served integer, admitted integer, waiting integer)
language plpgsql as $$
begin
  insert into queue_adaptive (concert_id, taken_window) values (p_concert_id, -1) on conflict do nothing;
  update queue_adaptive a set taken_window = p_window where a.concert_id = p_concert_id and a.taken_window < p_window;
  if not found then
    return;
  end if;
  return query select
    coalesce(h.buckets, '{}'::integer[]),
    coalesce(h.errors, 0),
    coalesce(h.served, 0),
    (select count(*)::integer from queue_entries q
      where q.concert_id = p_concert_id and q.admitted_at >= p_from and q.admitted_at < p_until),
    (select count(*)::integer from queue_entries q where q.concert_id = p_concert_id and q.status = 'WAITING')
  from (select 1) as one
  left join queue_health h on h.concert_id = p_concert_id and h.window_no = p_window;
end $$
