import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { Coalescer } from '../shared/coalescer.js'
import {
  type AdmissionLimits,
  admissionBounds,
  type EndReason,
  type EntryState,
  type JoinResult,
  promotesOnFree,
  type QueueFigures,
  type RecentAdmissions,
  type TickResult,
  type WaitingRoomStore,
} from './store.js'

/** A status poll refreshes last_seen_at at most this often: fewer writes, same outcome. */
const SEEN_GRANULARITY_MS = 1000
/** The gate slides an admission only when that moves it by at least this much. */
const SLIDE_GRANULARITY_MS = 1000
/**
 * Batches of one concert running at once in one process; calls arriving meanwhile gather into the
 * next batch, so under a crowd each round trip carries many joins or polls.
 */
const BATCHES_IN_FLIGHT = 2

interface EntryRow {
  status: 'WAITING' | 'ACTIVE' | 'ENDED'
  last_seen_at: Date
  active_until: Date | null
  ahead: number | null
}

type JoinRow = EntryRow & { token_id: string; joined_at: Date; created: boolean }

interface JoinCall {
  tokenId: string
  userId: string
  prequeueKey: number | null
  now: number
  staleBefore: number
}

interface StatusCall {
  tokenId: string
  now: number
  staleBefore: number
}

/**
 * The waiting room in the database (the week-4 design, made fast): positions are index range counts
 * (`queue_positions`, one pass for a whole batch), admission and expiry are set-based updates, and a per-concert row in queue_ticks is the
 * lock that makes counting and admitting one step across processes.
 */
export class DbWaitingRoomStore implements WaitingRoomStore {
  readonly #joins: Coalescer<JoinCall, JoinRow>
  readonly #polls: Coalescer<StatusCall, EntryRow | undefined>

  constructor(private readonly db: Db) {
    const options = { maxInFlight: BATCHES_IN_FLIGHT }
    this.#joins = new Coalescer((concertId, calls) => this.joinMany(concertId, calls), options)
    this.#polls = new Coalescer((concertId, calls) => this.statusMany(concertId, calls), options)
  }

  async join(
    concertId: string,
    userId: string,
    tokenId: string,
    prequeueKey: number | null,
    now: number,
    limits: AdmissionLimits,
  ): Promise<JoinResult> {
    const row = await this.#joins.run(concertId, { tokenId, userId, prequeueKey, now, staleBefore: now - limits.waitingIdleMs })
    return {
      tokenId: row.token_id,
      joinedAt: row.joined_at.getTime(),
      created: row.created,
      state: this.toState(row, now, limits.waitingIdleMs),
    }
  }

  async status(concertId: string, tokenId: string, now: number, limits: AdmissionLimits): Promise<EntryState> {
    const row = await this.#polls.run(concertId, { tokenId, now, staleBefore: now - limits.waitingIdleMs })
    return this.toState(row, now, limits.waitingIdleMs)
  }

  private async joinMany(concertId: string, calls: JoinCall[]): Promise<JoinRow[]> {
    const { rows } = await sql<JoinRow>`
      select * from queue_join_many(${concertId}, ${calls.map((c) => c.tokenId)}::text[], ${calls.map((c) => c.userId)}::text[],
        ${calls.map((c) => c.prequeueKey)}::bigint[], ${calls.map((c) => new Date(c.now))}::timestamptz[],
        ${calls.map((c) => new Date(c.staleBefore))}::timestamptz[])`.execute(this.db)
    return rows
  }

  private async statusMany(concertId: string, calls: StatusCall[]): Promise<(EntryRow | undefined)[]> {
    const { rows } = await sql<EntryRow>`
      select * from queue_status_many(${concertId}, ${calls.map((c) => c.tokenId)}::text[],
        ${calls.map((c) => new Date(c.now))}::timestamptz[], ${calls.map((c) => new Date(c.staleBefore))}::timestamptz[],
        ${`${SEEN_GRANULARITY_MS} milliseconds`}::interval)`.execute(this.db)
    // A token that is not this concert's comes back with no status: no entry.
    return rows.map((row) => (row.status === null ? undefined : row))
  }

  async touch(concertId: string, tokenId: string, now: number, limits: AdmissionLimits): Promise<EntryState> {
    const slideTo = sql`least(${new Date(now + limits.activeIdleMs)}::timestamptz, q.active_max_until)`
    const { rows } = await sql<EntryRow & { slid_until: Date | null }>`
      with e as (
        select token_id, status, order_key, last_seen_at, active_until
        from queue_entries where token_id = ${tokenId} and concert_id = ${concertId}
      ), slid as (
        update queue_entries q set active_until = ${slideTo}
        where q.token_id = ${tokenId} and q.status = 'ACTIVE' and q.active_until > ${new Date(now)}
          and q.active_until < ${slideTo} - ${`${SLIDE_GRANULARITY_MS} milliseconds`}::interval
        returning q.active_until
      )
      select e.status, e.last_seen_at, e.active_until, (select active_until from slid) as slid_until, p.ahead
      from e left join queue_positions(${concertId}, array[${tokenId}]) p on e.status = 'WAITING'`.execute(this.db)
    const row = rows[0]
    if (row?.slid_until) return { state: 'ACTIVE', activeUntil: row.slid_until.getTime() }
    return this.toState(row, now, limits.waitingIdleMs)
  }

  async peek(concertId: string, tokenId: string, now: number): Promise<EntryState> {
    const { rows } = await sql<EntryRow>`
      select e.status, e.last_seen_at, e.active_until, p.ahead
      from queue_entries e left join queue_positions(${concertId}, array[${tokenId}]) p on e.status = 'WAITING'
      where e.token_id = ${tokenId} and e.concert_id = ${concertId}`.execute(this.db)
    return this.toState(rows[0], now, null)
  }

  async end(concertId: string, tokenId: string, reason: EndReason, now: number, limits: AdmissionLimits): Promise<boolean> {
    const endEntry = (db: Db) =>
      db
        .updateTable('queue_entries')
        .set({ status: 'ENDED', ended_at: new Date(now), end_reason: reason })
        .where('token_id', '=', tokenId)
        .where('concert_id', '=', concertId)
        .where('status', '<>', 'ENDED')
        .returning('token_id')
        .executeTakeFirst()
    if (!promotesOnFree(limits)) return (await endEntry(this.db)) !== undefined
    return this.db.transaction().execute(async (trx) => {
      // Promotion takes the concert's tick lock before the entry's row, in the same order as tick().
      await this.lockTick(trx, concertId)
      const ended = await endEntry(trx)
      if (ended) await this.admitNext(trx, concertId, now, limits)
      return ended !== undefined
    })
  }

  async tick(concertId: string, now: number, limits: AdmissionLimits): Promise<TickResult> {
    return this.db.transaction().execute(async (trx) => {
      await trx.insertInto('queue_ticks').values({ concert_id: concertId }).onConflict((oc) => oc.doNothing()).execute()
      const claimed = await sql`
        update queue_ticks set last_tick_at = ${now}
        where concert_id = ${concertId} and div(${now}::bigint, ${limits.tickMs}) > div(last_tick_at, ${limits.tickMs})
        returning concert_id`.execute(trx)
      if (claimed.rows.length === 0) return { ran: false, admitted: 0, expired: 0 }
      const expired = await this.endStale(trx, concertId, now, limits)
      const admitted = await this.admitNext(trx, concertId, now, limits)
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

  async figures(concertId: string, now: number, limits: AdmissionLimits): Promise<QueueFigures> {
    const { rows } = await sql<{ waiting: number; active: number; admitted: number; p50: number | null }>`
      select
        (select count(*)::int from queue_entries where concert_id = ${concertId} and status = 'WAITING'
           and last_seen_at > ${new Date(now - limits.waitingIdleMs)}) as waiting,
        (select count(*)::int from queue_entries where concert_id = ${concertId} and status = 'ACTIVE'
           and active_until > ${new Date(now)}) as active,
        a.admitted, a.p50
      from (
        select count(*)::int as admitted,
          percentile_cont(0.5) within group (order by extract(epoch from admitted_at - joined_at))::float8 as p50
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

  async close(): Promise<void> {}

  private toState(row: EntryRow | undefined, now: number, waitingIdleMs: number | null): EntryState {
    if (!row || row.status === 'ENDED') return { state: 'ENDED' }
    if (row.status === 'ACTIVE') {
      const until = row.active_until!.getTime()
      return until > now ? { state: 'ACTIVE', activeUntil: until } : { state: 'ENDED' }
    }
    if (waitingIdleMs !== null && row.last_seen_at.getTime() <= now - waitingIdleMs) return { state: 'ENDED' }
    return { state: 'WAITING', position: row.ahead! + 1 }
  }

  private async lockTick(trx: Db, concertId: string) {
    await trx.insertInto('queue_ticks').values({ concert_id: concertId }).onConflict((oc) => oc.doNothing()).execute()
    await trx.selectFrom('queue_ticks').select('concert_id').where('concert_id', '=', concertId).forUpdate().execute()
  }

  /** Ends waiting entries that stopped polling and admissions past their idle or hard limit. */
  private async endStale(trx: Db, concertId: string, now: number, limits: AdmissionLimits) {
    const at = new Date(now)
    const result = await sql`
      update queue_entries set status = 'ENDED', ended_at = ${at},
        end_reason = case when status = 'WAITING' then 'WAITING_IDLE'
                          when active_until >= active_max_until then 'HARD_LIMIT' else 'ACTIVE_IDLE' end
      where concert_id = ${concertId}
        and ((status = 'WAITING' and last_seen_at <= ${new Date(now - limits.waitingIdleMs)})
          or (status = 'ACTIVE' and active_until <= ${at}))`.execute(trx)
    return Number(result.numAffectedRows ?? 0)
  }

  /** Admits the next in line within the strategy's bounds. The caller holds the tick lock. */
  private async admitNext(trx: Db, concertId: string, now: number, limits: AdmissionLimits): Promise<number> {
    const { perTick, cap } = admissionBounds(limits)
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
        active_until = ${new Date(now + Math.min(limits.activeIdleMs, limits.activeMaxMs))},
        active_max_until = ${new Date(now + limits.activeMaxMs)}
      where status = 'WAITING' and token_id in (
        select token_id from queue_entries
        where concert_id = ${concertId} and status = 'WAITING' and last_seen_at > ${new Date(now - limits.waitingIdleMs)}
        order by order_key limit ${Math.min(n, 1_000_000)}
        for update
      )`.execute(trx)
    return Number(result.numAffectedRows ?? 0)
  }
}
