import { type Kysely, sql } from 'kysely'
import { up as createSingleJoin } from './0005_queue_join_function.js'

/**
 * The database waiting room takes the crowd in batches, as the Redis one does: many joins or
 * status polls of one concert in one round trip. The positions of a whole batch cost one pass
 * over the line up to its last entry, instead of one count per entry.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop function queue_join(text, text, text, bigint, timestamptz, timestamptz)`.execute(db)

  // How many waiting entries are ahead of each given waiting entry (same snapshot as the caller's
  // statement): the batch sorted by order, one index range count for each gap between neighbours,
  // and a running sum. The counts together cover the line up to the batch's last entry once.
  // Order keys may tie only in the pre-queue's random draw; ties are not ahead.
  await sql`
    create function queue_positions(p_concert_id text, p_token_ids text[])
    returns table (token_id text, ahead integer)
    language sql stable as $$
      with mine as (
        select q.token_id, q.order_key,
          coalesce(lag(q.order_key) over (order by q.order_key), -9223372036854775808) as after_key
        from queue_entries q
        where q.token_id = any(p_token_ids) and q.concert_id = p_concert_id and q.status = 'WAITING'
      ), gaps as (
        select m.token_id, m.order_key, (
          select count(*) from queue_entries w
          where w.concert_id = p_concert_id and w.status = 'WAITING'
            and w.order_key >= m.after_key and w.order_key < m.order_key
        ) as gap
        from mine m
      )
      select g.token_id, (sum(g.gap) over (order by g.order_key))::integer from gaps g
    $$`.execute(db)

  // Joins in order, each as a single join: insert a new entry, or find the user's live one
  // (idempotent per user and concert); a live entry that went stale is ended and replaced. Every
  // statement in the loop takes a fresh snapshot, so after waiting on a concurrent join of the
  // same user it sees that join's entry.
  await sql`
    create function queue_join_many(
      p_concert_id text, p_token_ids text[], p_user_ids text[], p_order_keys bigint[], p_nows timestamptz[],
      p_stale_befores timestamptz[]
    ) returns table (idx integer, token_id text, joined_at timestamptz, created boolean, status text,
                     active_until timestamptz, last_seen_at timestamptz, ahead integer)
    language plpgsql as $$
    #variable_conflict use_column
    declare
      e queue_entries%rowtype;
      entries queue_entries[] := '{}';
      is_new boolean[] := '{}';
      settled boolean;
    begin
      for i in 1 .. coalesce(array_length(p_token_ids, 1), 0) loop
        settled := false;
        for attempt in 1 .. 3 loop
          insert into queue_entries (token_id, concert_id, user_id, order_key, status, joined_at, last_seen_at)
            values (p_token_ids[i], p_concert_id, p_user_ids[i], coalesce(p_order_keys[i], nextval('queue_order_seq')),
                    'WAITING', p_nows[i], p_nows[i])
            on conflict (concert_id, user_id) where status <> 'ENDED' do nothing
            returning * into e;
          if found then
            is_new := is_new || true;
            settled := true;
            exit;
          end if;
          select * into e from queue_entries where concert_id = p_concert_id and user_id = p_user_ids[i] and status <> 'ENDED';
          continue when not found; -- ended meanwhile: insert again
          if (e.status = 'WAITING' and e.last_seen_at <= p_stale_befores[i]) or (e.status = 'ACTIVE' and e.active_until <= p_nows[i]) then
            update queue_entries set status = 'ENDED', ended_at = p_nows[i],
              end_reason = case when status = 'WAITING' then 'WAITING_IDLE'
                                when active_until >= active_max_until then 'HARD_LIMIT' else 'ACTIVE_IDLE' end
            where token_id = e.token_id and status <> 'ENDED';
            continue;
          end if;
          if e.status = 'WAITING' then
            update queue_entries set last_seen_at = p_nows[i] where token_id = e.token_id;
            e.last_seen_at := p_nows[i];
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
        select d.ordinality::integer, d.token_id, d.joined_at, is_new[d.ordinality], d.status, d.active_until,
               d.last_seen_at, p.ahead
        from done d left join queue_positions(p_concert_id, array(select token_id from done where status = 'WAITING')) p
          on p.token_id = d.token_id and d.status = 'WAITING'
        order by d.ordinality;
    end $$`.execute(db)

  // Status polls: where each token stands; a waiting entry is marked as seen (at most once a
  // second, so a crowd polling does not rewrite its rows on every poll).
  await sql`
    create function queue_status_many(
      p_concert_id text, p_token_ids text[], p_nows timestamptz[], p_stale_befores timestamptz[], p_seen_granularity interval
    ) returns table (idx integer, status text, last_seen_at timestamptz, active_until timestamptz, ahead integer)
    language sql as $$
      with req as (
        select r.token_id, r.now, r.stale_before, r.idx::integer
        from unnest(p_token_ids, p_nows, p_stale_befores) with ordinality as r(token_id, now, stale_before, idx)
      ), e as (
        select req.idx, req.now, req.stale_before, q.token_id, q.status, q.last_seen_at, q.active_until
        from req left join queue_entries q on q.token_id = req.token_id and q.concert_id = p_concert_id
      ), seen as (
        update queue_entries q set last_seen_at = e.now from e
        where q.token_id = e.token_id and q.status = 'WAITING'
          and q.last_seen_at > e.stale_before and q.last_seen_at < e.now - p_seen_granularity
      )
      select e.idx, e.status, e.last_seen_at, e.active_until, p.ahead
      from e left join queue_positions(p_concert_id, array(select token_id from e where status = 'WAITING')) p
        on p.token_id = e.token_id and e.status = 'WAITING'
      order by e.idx
    $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function queue_status_many(text, text[], timestamptz[], timestamptz[], interval)`.execute(db)
  await sql`drop function queue_join_many(text, text[], text[], bigint[], timestamptz[], timestamptz[])`.execute(db)
  await sql`drop function queue_positions(text, text[])`.execute(db)
  await createSingleJoin(db)
}
