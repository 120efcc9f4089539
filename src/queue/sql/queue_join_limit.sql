-- Counts joins against their client addresses' limits (table queue_join_limits): at most
-- p_per_window[i] joins of an address to the concert in a window that starts at the address's first
-- join and lasts p_windows_ms[i] (as @fastify/rate-limit counts); a join refused still counts. A
-- join whose address is null is not counted. Returns per join the milliseconds until its address's
-- window ends when it is one too many, else null. Addresses are counted in their sorted order, so
-- batches of any processes take the rows' locks in one order and never wait on each other in a
-- circle. Each window started forgets two that have ended, of any concert.
create or replace function queue_join_limit(
  p_concert_id text, p_addresses text[], p_nows timestamptz[], p_per_window integer[], p_windows_ms integer[]
) returns integer[]
language plpgsql as $$
declare
  waits integer[] := array_fill(null::integer, array[coalesce(array_length(p_addresses, 1), 0)]);
  i integer;
  counted queue_join_limits%rowtype;
begin
  for i in
    select s from generate_subscripts(p_addresses, 1) s where p_addresses[s] is not null order by p_addresses[s], s
  loop
    insert into queue_join_limits as l (concert_id, address, joins, window_ends_at)
      values (p_concert_id, p_addresses[i], 1, p_nows[i] + p_windows_ms[i] * interval '1 millisecond')
      on conflict (concert_id, address) do update set
        joins = case when l.window_ends_at > p_nows[i] then l.joins + 1 else 1 end,
        window_ends_at = case when l.window_ends_at > p_nows[i] then l.window_ends_at else excluded.window_ends_at end
      returning * into counted;
    if counted.joins = 1 then
      delete from queue_join_limits l using (
        select concert_id, address from queue_join_limits where window_ends_at <= p_nows[i] limit 2 for update skip locked
      ) ended
      where l.concert_id = ended.concert_id and l.address = ended.address;
    end if;
    if counted.joins > p_per_window[i] then
      waits[i] := ceil(extract(epoch from counted.window_ends_at - p_nows[i]) * 1000)::integer;
    end if;
  end loop;
  return waits;
end $$
