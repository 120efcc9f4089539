import { type Kysely, sql } from 'kysely'
import { Coalescer } from '../platform/coalescer.js'
import { admissionBounds, promotesOnFree, type QueueSettings } from './settings.js'
import type { EndReason, EntryState, JoinResult, QueueFigures, QueueStore, RecentAdmissions, TickResult, TokenEntry } from './store.js'

/** A status poll refreshes last_seen_at at most this often: fewer writes, same outcome. */
const SEEN_GRANULARITY = '1000 milliseconds'
/** The gate slides an admission only when that moves it by at least this much. */
const SLIDE_GRANULARITY = '1000 milliseconds'
/**
 * Batches of one concert running at once in one process; calls arriving meanwhile gather into the
 * next batch, so under a crowd each round trip carries many joins or polls.
 */
const BATCHES_IN_FLIGHT = 2

type EntryStatus = 'WAITING' | 'ACTIVE' | 'EXPIRED'

interface QueueEntriesTable {
  token_id: string
  concert_id: string
  user_id: string
  /** Arrival order; a pre-queue join gets a random negative key, so the pre-queue sorts first, shuffled. */
  order_key: number
  status: EntryStatus
  joined_at: Date
  last_seen_at: Date
  admitted_at: Date | null
  active_until: Date | null
  active_max_until: Date | null
  ended_at: Date | null
  end_reason: EndReason | null
}

interface QueueTicksTable {
  concert_id: string
  /** When admission last ran (epoch ms); a tick runs once per window floor(now / tickMs). */
  last_tick_at: number
}

export interface QueueTables {
  queue_entries: QueueEntriesTable
  queue_ticks: QueueTicksTable
}

/** An entry as the functions in sql/ return it; no row (or a null status) means no such entry. */
interface StateRow {
  status: EntryStatus | null
  end_reason?: EndReason | null
  active_until: Date | null
  ahead: number | null
}

type JoinRow = StateRow & { token_id: string | null; joined_at: Date; order_key: number; created: boolean }

interface JoinCall {
  tokenId: string
  userId: string
  orderKey: number
  now: number
  staleBefore: number
  mayCreate: boolean
}

interface StatusCall {
  tokenId: string
  now: number
  staleBefore: number
  entry: TokenEntry
}

const toState = (row: StateRow | undefined): EntryState => {
  switch (row?.status ?? 'EXPIRED') {
    case 'WAITING':
      return { state: 'WAITING', position: row!.ahead! + 1 }
    case 'ACTIVE':
      return { state: 'ACTIVE', activeUntil: row!.active_until!.getTime() }
    case 'EXPIRED':
      return { state: 'EXPIRED', reason: row?.end_reason ?? null }
  }
}

const toJoin = (row: JoinRow): JoinResult | undefined =>
  row.token_id === null
    ? undefined
    : {
        tokenId: row.token_id,
        joinedAt: row.joined_at.getTime(),
        orderKey: Number(row.order_key),
        created: row.created,
        state: toState(row),
      }

/**
 * The queue in the database: positions are index range counts (`queue_positions`, one pass for
 * a whole batch), admission and expiry are set-based updates, and a per-concert row in
 * queue_ticks is the lock that makes counting and admitting one step across processes. The
 * functions it calls are in sql/.
 */
export class DbQueueStore implements QueueStore {
  readonly #joins: Coalescer<JoinCall, JoinRow>
  readonly #polls: Coalescer<StatusCall, StateRow>

  constructor(private readonly db: Kysely<QueueTables>) {
    const options = { maxInFlight: BATCHES_IN_FLIGHT }
    this.#joins = new Coalescer((concertId, calls) => this.joinMany(concertId, calls), options)
    this.#polls = new Coalescer((concertId, calls) => this.statusMany(concertId, calls), options)
  }

  async join(concertId: string, userId: string, tokenId: string, orderKey: number, now: number, s: QueueSettings): Promise<JoinResult> {
    const staleBefore = now - s.waitingIdleS * 1000
    return toJoin(await this.#joins.run(concertId, { tokenId, userId, orderKey, now, staleBefore, mayCreate: true }))!
  }

  async rejoin(concertId: string, userId: string, now: number, s: QueueSettings): Promise<JoinResult | undefined> {
    const staleBefore = now - s.waitingIdleS * 1000
    return toJoin(await this.#joins.run(concertId, { tokenId: '', userId, orderKey: 0, now, staleBefore, mayCreate: false }))
  }

  async status(concertId: string, tokenId: string, now: number, s: QueueSettings, entry: TokenEntry): Promise<EntryState> {
    return toState(await this.#polls.run(concertId, { tokenId, now, staleBefore: now - s.waitingIdleS * 1000, entry }))
  }

  private async joinMany(concertId: string, calls: JoinCall[]): Promise<JoinRow[]> {
    const { rows } = await sql<JoinRow>`
      select * from queue_join_many(${concertId}, ${calls.map((c) => c.tokenId)}::text[], ${calls.map((c) => c.userId)}::text[],
        ${calls.map((c) => c.orderKey)}::bigint[], ${calls.map((c) => new Date(c.now))}::timestamptz[],
        ${calls.map((c) => new Date(c.staleBefore))}::timestamptz[], ${calls.map((c) => c.mayCreate)}::boolean[])`.execute(this.db)
    return rows
  }

  private async statusMany(concertId: string, calls: StatusCall[]): Promise<StateRow[]> {
    const { rows } = await sql<StateRow>`
      select * from queue_status_many(${concertId}, ${calls.map((c) => c.tokenId)}::text[],
        ${calls.map((c) => new Date(c.now))}::timestamptz[], ${calls.map((c) => new Date(c.staleBefore))}::timestamptz[],
        ${SEEN_GRANULARITY}::interval, ${calls.map((c) => c.entry.userId)}::text[],
        ${calls.map((c) => new Date(c.entry.joinedAt))}::timestamptz[], ${calls.map((c) => c.entry.orderKey)}::bigint[])`.execute(this.db)
    return rows
  }

  async touch(concertId: string, tokenId: string, now: number, s: QueueSettings): Promise<EntryState> {
    const { rows } = await sql<StateRow>`
      select * from queue_touch(${concertId}, ${tokenId}, ${new Date(now)}, ${`${s.activeIdleS} seconds`}::interval,
        ${new Date(now - s.waitingIdleS * 1000)}, ${SLIDE_GRANULARITY}::interval)`.execute(this.db)
    return toState(rows[0])
  }

  async peek(concertId: string, tokenId: string, now: number): Promise<EntryState> {
    const { rows } = await sql<StateRow>`
      select case when e.status = 'ACTIVE' and e.active_until <= ${new Date(now)} then 'EXPIRED' else e.status end as status,
        coalesce(e.end_reason, queue_lapse_reason(e.status, e.last_seen_at, e.active_until, e.active_max_until, ${new Date(now)}, null)) as end_reason,
        e.active_until, p.ahead
      from queue_entries e left join queue_positions(${concertId}, array[${tokenId}]) p on e.status = 'WAITING'
      where e.token_id = ${tokenId} and e.concert_id = ${concertId}`.execute(this.db)
    return toState(rows[0])
  }

  async end(concertId: string, tokenId: string, reason: 'LEFT' | 'PAID', now: number, s: QueueSettings): Promise<boolean> {
    const endEntry = async (db: Kysely<QueueTables>) => {
      const at = new Date(now)
      const staleBefore = new Date(now - s.waitingIdleS * 1000)
      // An entry that had already lapsed ends with the reason it lapsed, and was not live.
      const { rows } = await sql<{ lapsed: EndReason | null }>`
        with e as (
          select token_id,
            queue_lapse_reason(status, last_seen_at, active_until, active_max_until, ${at}, ${staleBefore}) as lapsed
          from queue_entries where token_id = ${tokenId} and concert_id = ${concertId} and status <> 'EXPIRED'
          for update
        )
        update queue_entries q set status = 'EXPIRED', ended_at = ${at}, end_reason = coalesce(e.lapsed, ${reason})
        from e where q.token_id = e.token_id
        returning e.lapsed`.execute(db)
      return rows.length === 1 && rows[0]!.lapsed === null
    }
    if (!promotesOnFree(s)) return endEntry(this.db)
    return this.db.transaction().execute(async (trx) => {
      // Promotion takes the concert's tick lock before the entry's row, in the same order as tick().
      await this.lockTick(trx, concertId)
      const ended = await endEntry(trx)
      if (ended) await this.admitNext(trx, concertId, now, s)
      return ended
    })
  }

  async tick(concertId: string, now: number, s: QueueSettings): Promise<TickResult> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('queue_ticks')
        .values({ concert_id: concertId, last_tick_at: 0 })
        .onConflict((oc) => oc.doNothing())
        .execute()
      const claimed = await sql`
        update queue_ticks set last_tick_at = ${now}
        where concert_id = ${concertId} and div(${now}::bigint, ${s.tickMs}) > div(last_tick_at, ${s.tickMs})
        returning concert_id`.execute(trx)
      if (claimed.rows.length === 0) return { ran: false, admitted: 0, expired: 0 }
      const expired = await this.endLapsed(trx, concertId, now, s)
      const admitted = await this.admitNext(trx, concertId, now, s)
      return { ran: true, admitted, expired }
    })
  }

  async recentAdmissions(concertId: string, now: number): Promise<RecentAdmissions> {
    const row = await this.db
      .selectFrom('queue_entries')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('admitted_at').as('first')])
      .where('concert_id', '=', concertId)
      .where('admitted_at', '>', new Date(now - 60_000))
      .where('admitted_at', '<=', new Date(now))
      .executeTakeFirstOrThrow()
    return { admittedLastMinute: Number(row.n), firstAdmittedAt: row.first?.getTime() ?? null }
  }

  async figures(concertId: string, now: number, s: QueueSettings): Promise<QueueFigures> {
    const { rows } = await sql<{ waiting: number; active: number; admitted: number; p50: number | null }>`
      select
        (select count(*)::int from queue_entries where concert_id = ${concertId} and status = 'WAITING'
           and last_seen_at > ${new Date(now - s.waitingIdleS * 1000)}) as waiting,
        (select count(*)::int from queue_entries where concert_id = ${concertId} and status = 'ACTIVE'
           and active_until > ${new Date(now)}) as active,
        a.admitted, a.p50
      from (
        select count(*)::int as admitted,
          percentile_cont(0.5) within group (order by greatest(0, extract(epoch from admitted_at - joined_at)))::float8 as p50
        from queue_entries
        where concert_id = ${concertId} and admitted_at > ${new Date(now - 60_000)} and admitted_at <= ${new Date(now)}
      ) a`.execute(this.db)
    const r = rows[0]!
    return {
      waiting: r.waiting,
      active: r.active,
      admittedLastMinute: r.admitted,
      p50WaitSeconds: r.p50 === null ? null : Math.round(r.p50),
    }
  }

  private async lockTick(trx: Kysely<QueueTables>, concertId: string) {
    await trx
      .insertInto('queue_ticks')
      .values({ concert_id: concertId, last_tick_at: 0 })
      .onConflict((oc) => oc.doNothing())
      .execute()
    await trx.selectFrom('queue_ticks').select('concert_id').where('concert_id', '=', concertId).forUpdate().execute()
  }

  /** Ends waiting entries that stopped polling and admissions past their idle or hard limit. */
  private async endLapsed(trx: Kysely<QueueTables>, concertId: string, now: number, s: QueueSettings) {
    const at = new Date(now)
    const staleBefore = new Date(now - s.waitingIdleS * 1000)
    const result = await sql`
      update queue_entries set status = 'EXPIRED', ended_at = ${at},
        end_reason = queue_lapse_reason(status, last_seen_at, active_until, active_max_until, ${at}, ${staleBefore})
      where concert_id = ${concertId}
        and ((status = 'WAITING' and last_seen_at <= ${staleBefore}) or (status = 'ACTIVE' and active_until <= ${at}))`.execute(trx)
    return Number(result.numAffectedRows ?? 0)
  }

  /** Admits the next in line within the strategy's bounds. The caller holds the tick lock. */
  private async admitNext(trx: Kysely<QueueTables>, concertId: string, now: number, s: QueueSettings): Promise<number> {
    const { perTick, cap } = admissionBounds(s)
    let n = perTick < 0 ? Number.MAX_SAFE_INTEGER : perTick
    if (cap >= 0) {
      const { active } = await trx
        .selectFrom('queue_entries')
        .select((eb) => eb.fn.countAll<number>().as('active'))
        .where('concert_id', '=', concertId)
        .where('status', '=', 'ACTIVE')
        .where('active_until', '>', new Date(now))
        .executeTakeFirstOrThrow()
      n = Math.min(n, cap - Number(active))
    }
    if (n <= 0) return 0
    const at = new Date(now)
    const result = await sql`
      update queue_entries set status = 'ACTIVE', admitted_at = ${at},
        active_until = ${new Date(now + Math.min(s.activeIdleS, s.activeMaxS) * 1000)},
        active_max_until = ${new Date(now + s.activeMaxS * 1000)}
      where status = 'WAITING' and token_id in (
        select token_id from queue_entries
        where concert_id = ${concertId} and status = 'WAITING' and last_seen_at > ${new Date(now - s.waitingIdleS * 1000)}
        order by order_key, token_id limit ${Math.min(n, 1_000_000)}
        for update
      )`.execute(trx)
    return Number(result.numAffectedRows ?? 0)
  }
}
