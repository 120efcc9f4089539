import { type Kysely, sql } from 'kysely'

/**
 * Joining the database waiting room as one round trip: end the user's entry if it went stale,
 * insert a new one or find the live one (idempotent per user and concert), and count who is
 * ahead. Inside the function every statement takes a fresh snapshot, so after waiting on a
 * concurrent join of the same user the lookup sees it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function queue_join(
      p_token_id text, p_concert_id text, p_user_id text, p_order_key bigint, p_now timestamptz, p_stale_before timestamptz
    ) returns table (token_id text, joined_at timestamptz, created boolean, status text, active_until timestamptz,
                     last_seen_at timestamptz, ahead integer)
    language plpgsql as $$
    #variable_conflict use_column
    declare
      e queue_entries%rowtype;
      is_new boolean := false;
    begin
      update queue_entries set status = 'ENDED', ended_at = p_now,
        end_reason = case when status = 'WAITING' then 'WAITING_IDLE'
                          when active_until >= active_max_until then 'HARD_LIMIT' else 'ACTIVE_IDLE' end
      where concert_id = p_concert_id and user_id = p_user_id
        and ((status = 'WAITING' and last_seen_at <= p_stale_before) or (status = 'ACTIVE' and active_until <= p_now));
      insert into queue_entries (token_id, concert_id, user_id, order_key, status, joined_at, last_seen_at)
        values (p_token_id, p_concert_id, p_user_id, coalesce(p_order_key, nextval('queue_order_seq')), 'WAITING', p_now, p_now)
        on conflict (concert_id, user_id) where status <> 'ENDED' do nothing
        returning * into e;
      if found then
        is_new := true;
      else
        select * into e from queue_entries where concert_id = p_concert_id and user_id = p_user_id and status <> 'ENDED';
        if e.status = 'WAITING' then
          update queue_entries set last_seen_at = p_now where token_id = e.token_id;
          e.last_seen_at := p_now;
        end if;
      end if;
      return query select e.token_id, e.joined_at, is_new, e.status, e.active_until, e.last_seen_at,
        case when e.status = 'WAITING' then (
          select count(*)::integer from queue_entries w
          where w.concert_id = p_concert_id and w.status = 'WAITING' and w.order_key < e.order_key
        ) end;
    end $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function queue_join(text, text, text, bigint, timestamptz, timestamptz)`.execute(db)
}
