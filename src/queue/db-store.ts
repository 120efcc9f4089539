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
/**
 * A process's copy of a concert's line is taken again when older than this (or ten times what
 * taking it cost, for a very long line), and at once after this process changes the line.
 */
const LINE_COPY_MS = 1000
const MIN_ORDER_KEY = '-9223372036854775808'

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

/** A status poll's row: a waiting entry within the process's copy of the line has no count but its order. */
interface PollRow extends StateRow {
  token_id: string | null
  order_key: string | number | null
}

/**
 * The waiting line of a concert as one statement saw it, in order: a poll's position is where its
 * entry sorts here, found by binary search, so polls do not count the line. Positions change only
 * when entries leave the line (admission, leaving, expiry), and this process takes a new copy
 * after it does any of those; another process's changes show within LINE_COPY_MS.
 */
class LineCopy {
  constructor(
    readonly keys: Float64Array,
    readonly tokens: string[],
    readonly takenAt: number,
    readonly ttlMs: number,
  ) {}

  get lastKey(): string {
    return this.keys.length === 0 ? MIN_ORDER_KEY : String(this.keys[this.keys.length - 1])
  }

  get lastToken(): string {
    return this.tokens.at(-1) ?? ''
  }

  /** Whether an entry of this order key would sort within the copy rather than after it. */
  covers(key: number): boolean {
    return this.keys.length > 0 && key <= this.keys[this.keys.length - 1]!
  }

  /** How many entries of the copy sort before (key, token). */
  ahead(key: number, token: string): number {
    let lo = 0
    let hi = this.keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const k = this.keys[mid]!
      if (k < key || (k === key && this.tokens[mid]! < token)) lo = mid + 1
      else hi = mid
    }
    return lo
  }
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

interface TouchCall {
  tokenId: string
  now: number
  staleBefore: number
  idleS: number
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
  readonly #touches: Coalescer<TouchCall, StateRow>
  readonly #lines = new Map<string, LineCopy>()
  readonly #lineLoads = new Map<string, { promise: Promise<LineCopy>; version: number }>()
  /** Bumped by this process's changes to a concert's line: a copy taken before one is not kept. */
  readonly #lineVersions = new Map<string, number>()

  constructor(private readonly db: Kysely<QueueTables>) {
    const options = { maxInFlight: BATCHES_IN_FLIGHT }
    this.#joins = new Coalescer((concertId, calls) => this.joinMany(concertId, calls), options)
    this.#polls = new Coalescer((concertId, calls) => this.statusMany(concertId, calls), options)
    this.#touches = new Coalescer((concertId, calls) => this.touchMany(concertId, calls), options)
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
    // New entries sort after the copy of the line, unless they join the shuffled pre-queue.
    const line = this.#lines.get(concertId)
    if (line && calls.some((c) => c.mayCreate && line.covers(c.orderKey))) this.lineChanged(concertId)
    const { rows } = await sql<JoinRow>`
      select * from queue_join_many(${concertId}, ${calls.map((c) => c.tokenId)}::text[], ${calls.map((c) => c.userId)}::text[],
        ${calls.map((c) => c.orderKey)}::bigint[], ${calls.map((c) => new Date(c.now))}::timestamptz[],
        ${calls.map((c) => new Date(c.staleBefore))}::timestamptz[], ${calls.map((c) => c.mayCreate)}::boolean[])`.execute(this.db)
    return rows
  }

  private async statusMany(concertId: string, calls: StatusCall[]): Promise<StateRow[]> {
    const line = await this.lineOf(concertId, calls[0]!.now)
    const { rows } = await sql<PollRow>`
      select * from queue_status_many(${concertId}, ${calls.map((c) => c.tokenId)}::text[],
        ${calls.map((c) => new Date(c.now))}::timestamptz[], ${calls.map((c) => new Date(c.staleBefore))}::timestamptz[],
        ${SEEN_GRANULARITY}::interval, ${calls.map((c) => c.entry.userId)}::text[],
        ${calls.map((c) => new Date(c.entry.joinedAt))}::timestamptz[], ${calls.map((c) => c.entry.orderKey)}::bigint[],
        ${line.lastKey}::bigint, ${line.lastToken})`.execute(this.db)
    if (rows.some((r) => r.end_reason === 'WAITING_IDLE')) this.lineChanged(concertId)
    for (const row of rows) {
      if (row.status !== 'WAITING') continue
      // After the copy's end: counted from there; within it: where it sorts in the copy.
      row.ahead = row.ahead !== null ? line.keys.length + row.ahead : line.ahead(Number(row.order_key), row.token_id!)
    }
    return rows
  }

  /** This process's copy of the concert's waiting line: kept while fresh, else taken once for every poll waiting. */
  private async lineOf(concertId: string, now: number): Promise<LineCopy> {
    const line = this.#lines.get(concertId)
    if (line && now - line.takenAt < line.ttlMs && now >= line.takenAt) return line
    const version = this.#lineVersions.get(concertId) ?? 0
    const load = this.#lineLoads.get(concertId)
    if (load && load.version === version) return load.promise
    const promise = this.copyLine(concertId, now).then((copy) => {
      if (this.#lineLoads.get(concertId)?.promise === promise) this.#lineLoads.delete(concertId)
      if ((this.#lineVersions.get(concertId) ?? 0) === version) {
        if (this.#lines.size >= 1000) this.#lines.clear()
        this.#lines.set(concertId, copy)
      }
      return copy
    })
    promise.catch(() => this.#lineLoads.delete(concertId))
    this.#lineLoads.set(concertId, { promise, version })
    return promise
  }

  private async copyLine(concertId: string, now: number): Promise<LineCopy> {
    const started = performance.now()
    const rows = await this.db
      .selectFrom('queue_entries')
      .select(['order_key', 'token_id'])
      .where('concert_id', '=', concertId)
      .where('status', '=', 'WAITING')
      .orderBy('order_key')
      .orderBy('token_id')
      .execute()
    const keys = new Float64Array(rows.length)
    const tokens = new Array<string>(rows.length)
    for (let i = 0; i < rows.length; i++) {
      keys[i] = Number(rows[i]!.order_key)
      tokens[i] = rows[i]!.token_id
    }
    return new LineCopy(keys, tokens, now, Math.max(LINE_COPY_MS, 10 * (performance.now() - started)))
  }

  /** This process changed the concert's line: its copy is taken again on the next poll. */
  private lineChanged(concertId: string) {
    this.#lineVersions.set(concertId, (this.#lineVersions.get(concertId) ?? 0) + 1)
    this.#lines.delete(concertId)
    if (this.#lineVersions.size >= 10_000) this.#lineVersions.clear()
  }

  async touch(concertId: string, tokenId: string, now: number, s: QueueSettings): Promise<EntryState> {
    return toState(await this.#touches.run(concertId, { tokenId, now, staleBefore: now - s.waitingIdleS * 1000, idleS: s.activeIdleS }))
  }

  private async touchMany(concertId: string, calls: TouchCall[]): Promise<StateRow[]> {
    // One batch is one concert's: its settings are the same for every call but in the moment they change.
    const { rows } = await sql<StateRow>`
      select * from queue_touch_many(${concertId}, ${calls.map((c) => c.tokenId)}::text[],
        ${calls.map((c) => new Date(c.now))}::timestamptz[], ${calls.map((c) => new Date(c.staleBefore))}::timestamptz[],
        ${`${calls[0]!.idleS} seconds`}::interval, ${SLIDE_GRANULARITY}::interval)`.execute(this.db)
    return rows
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
    const ended = !promotesOnFree(s)
      ? await endEntry(this.db)
      : await this.db.transaction().execute(async (trx) => {
          // Promotion takes the concert's tick lock before the entry's row, in the same order as tick().
          await this.lockTick(trx, concertId)
          const live = await endEntry(trx)
          if (live) await this.admitNext(trx, concertId, now, s)
          return live
        })
    if (ended) this.lineChanged(concertId)
    return ended
  }

  async tick(concertId: string, now: number, s: QueueSettings): Promise<TickResult> {
    const result = await this.db.transaction().execute(async (trx): Promise<TickResult> => {
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
    if (result.admitted + result.expired > 0) this.lineChanged(concertId)
    return result
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
