-- Joins in order, each as a single join: insert a new entry, or find the user's live one
-- (idempotent per user and concert); a live entry that has lapsed is ended and replaced. A join
-- with a client address first counts against the address's limit (queue_join_limit), and one too
-- many changes nothing else: its row has no token_id and says when to retry. Every
-- statement in the loop takes a fresh snapshot, so after waiting on a concurrent join of the
-- same user it sees that join's entry. A new entry sorts by its order key (given by the caller:
-- random negative in the pre-queue, else by arrival time). Returns one row per join, in order,
-- with the entry's state and, when waiting, how many are ahead; where p_may_create is false and
-- the user has no live entry, none is made and the row's token_id is null.
create or replace function queue_join_many(
  p_concert_id text, p_token_ids text[], p_user_ids text[], p_order_keys bigint[], p_nows timestamptz[],
  p_stale_befores timestamptz[], p_may_create boolean[], p_addresses text[], p_per_window integer[], p_windows_ms integer[]
) returns table (idx integer, token_id text, joined_at timestamptz, order_key bigint, created boolean, status text,
                 active_until timestamptz, ahead integer, retry_after_ms integer)
language plpgsql as $$
#variable_conflict use_column
declare
  e queue_entries%rowtype;
  entries queue_entries[] := '{}';
  is_new boolean[] := '{}';
  settled boolean;
  lapsed text;
  waits integer[] := queue_join_limit(p_concert_id, p_addresses, p_nows, p_per_window, p_windows_ms);
begin
  for i in 1 .. coalesce(array_length(p_token_ids, 1), 0) loop
    if waits[i] is not null then
      entries := entries || null::queue_entries;
      is_new := is_new || false;
      continue;
    end if;
    settled := false;
    for attempt in 1 .. 3 loop
      if not p_may_create[i] then
        -- Only a live entry is given back; none is made.
        select * into e from queue_entries where concert_id = p_concert_id and user_id = p_user_ids[i] and status <> 'EXPIRED';
        if found then
          lapsed := queue_lapse_reason(e.status, e.last_seen_at, e.active_until, e.active_max_until, p_nows[i], p_stale_befores[i]);
          if lapsed is not null then
            update queue_entries set status = 'EXPIRED', ended_at = p_nows[i], end_reason = lapsed
            where token_id = e.token_id and status <> 'EXPIRED';
            e := null;
          elsif e.status = 'WAITING' then
            update queue_entries set last_seen_at = p_nows[i] where token_id = e.token_id;
          end if;
        else
          e := null;
        end if;
        is_new := is_new || false;
        settled := true;
        exit;
      end if;
      insert into queue_entries (token_id, concert_id, user_id, order_key, status, joined_at, last_seen_at)
        values (p_token_ids[i], p_concert_id, p_user_ids[i], p_order_keys[i], 'WAITING', p_nows[i], p_nows[i])
        on conflict (concert_id, user_id) where status <> 'EXPIRED' do nothing
        returning * into e;
      if found then
        is_new := is_new || true;
        settled := true;
        exit;
      end if;
      select * into e from queue_entries where concert_id = p_concert_id and user_id = p_user_ids[i] and status <> 'EXPIRED';
      continue when not found; -- ended meanwhile: insert again
      lapsed := queue_lapse_reason(e.status, e.last_seen_at, e.active_until, e.active_max_until, p_nows[i], p_stale_befores[i]);
      if lapsed is not null then
        update queue_entries set status = 'EXPIRED', ended_at = p_nows[i], end_reason = lapsed
        where token_id = e.token_id and status <> 'EXPIRED';
        continue;
      end if;
      if e.status = 'WAITING' then
        update queue_entries set last_seen_at = p_nows[i] where token_id = e.token_id;
      end if;
      is_new := is_new || false;
      settled := true;
      exit;
    end loop;
    if not settled then
      raise exception 'join of user % to concert % did not settle', p_user_ids[i], p_concert_id;
    end if;
    entries := entries || e;
  end loop;
  return query
    with done as (select * from unnest(entries) with ordinality as d)
    select d.ordinality::integer, d.token_id, d.joined_at, d.order_key, is_new[d.ordinality], d.status, d.active_until, p.ahead,
      waits[d.ordinality]
    from done d left join queue_positions(p_concert_id, array(select token_id from done where status = 'WAITING')) p
      on p.token_id = d.token_id and d.status = 'WAITING'
    order by d.ordinality;
end $$
