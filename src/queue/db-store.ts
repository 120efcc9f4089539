import { type Kysely, sql } from 'kysely'
import { retryingConflicts } from '../platform/db/database.js'
import { Generations } from '../platform/generations.js'
import { SingleFlight } from '../platform/single-flight.js'
import { ADAPTIVE_WINDOW_MS } from './adaptive.js'
import {
  BatchedQueueStore,
  type JoinCall,
  type PeekCall,
  type RawJoin,
  type RawRefusal,
  type RawState,
  type StatusCall,
  type TouchCall,
} from './batched-store.js'
import { emptyCounts, type HealthCounts } from './booking-health.js'
import { deadlines, recentSince } from './deadlines.js'
import { LineCopy } from './line-copy.js'
import { admissionBounds, promotesOnFree, type QueueSettings } from './settings.js'
import type { AdaptiveRecord, AdaptiveWindow, EndReason, QueueFigures, RecentAdmissions, TickResult } from './store.js'

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
 * taking it cost, for a very long line), and at once after this process ends entries or places
 * one within it. Admissions need no new copy: every poll reads the front of the line afresh.
 */
const LINE_COPY_MS = 1000
/**
 * Each poll reads this many waiting entries from the front of the line: past fans who joined at
 * the front since the copy (pre-queue joins that land after the opening), the first of the copy
 * still waiting, before which every entry of the copy has left.
 */
const FRONT_ENTRIES = 32
/** A concert's booking health is kept this many windows: past the decision on them. */
const HEALTH_KEEP_WINDOWS = 10

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

/** Each client address's joins to a concert in its window (sql/queue_join_limit.sql). */
interface QueueJoinLimitsTable {
  concert_id: string
  address: string
  joins: number
  window_ends_at: Date
}

interface QueueAdaptiveTable {
  concert_id: string
  /** The last window the adaptive controller took (sql/queue_adaptive_take.sql). */
  taken_window: number
  decision: AdaptiveRecord | null
}

export interface QueueTables {
  queue_entries: QueueEntriesTable
  queue_ticks: QueueTicksTable
  queue_adaptive: QueueAdaptiveTable
  queue_join_limits: QueueJoinLimitsTable
}

/** An entry as the functions in sql/ return it; no row (or a null status) means no such entry. */
interface StateRow {
  status: EntryStatus | null
  end_reason?: EndReason | null
  active_until: Date | null
  ahead: number | null
}

/**
 * A status poll's row: a waiting entry within the process's copy of the line has no count but its
 * order; every row carries the front of the line as the poll's statement saw it.
 */
interface PollRow extends StateRow {
  token_id: string | null
  order_key: string | number | null
  front_keys: (string | number)[]
  front_tokens: string[]
}

/** A join's row; no token_id and a retry_after_ms: its address's limit refused it. */
type JoinRow = StateRow & { token_id: string | null; joined_at: Date; order_key: number; created: boolean; retry_after_ms: number | null }

/** A row of the functions in sql/ as the shared plumbing takes it; no row is no such entry. */
const rawState = (row: StateRow | undefined): RawState => {
  switch (row?.status ?? 'EXPIRED') {
    case 'WAITING':
      return ['W', row!.ahead! + 1]
    case 'ACTIVE':
      return ['A', row!.active_until!.getTime()]
    default:
      return ['X', row?.end_reason ?? 'UNKNOWN']
  }
}

const rawJoin = (row: JoinRow): RawJoin | RawRefusal | undefined =>
  row.token_id === null
    ? row.retry_after_ms === null
      ? undefined
      : { retryAfterMs: row.retry_after_ms }
    : {
        tokenId: row.token_id,
        joinedAt: row.joined_at.getTime(),
        orderKey: Number(row.order_key),
        created: row.created,
        state: rawState(row),
      }

const dates = (times: number[]) => times.map((t) => new Date(t))

/**
 * The queue in the database: positions are index range counts (`queue_positions`, one pass for
 * a whole batch), admission and expiry are set-based updates, and a per-concert row in
 * queue_ticks is the lock that makes counting and admitting one step across processes. The
 * functions it calls are in sql/.
 */
export class DbQueueStore extends BatchedQueueStore {
  /**
   * This process's copy of each concert's waiting line. Admission takes the front of the line,
   * and each poll's statement also reads the front of the line now: the entries of the copy ahead
   * of it have left since, whichever process admitted them, and are not counted. Entries that leave
   * further back are counted until this process takes a new copy: at once after it ends any, within
   * LINE_COPY_MS after another does; a position may lag them, never run ahead of the line, but for
   * another process's join that lands within the copy behind its front, missed until then.
   */
  readonly #lines = new Generations<LineCopy>(500)
  /** One copy of a line taken at a time; this process's changes to the line make a copy being taken stale. */
  readonly #lineLoads = new SingleFlight<LineCopy>()

  constructor(private readonly db: Kysely<QueueTables>) {
    super({ maxInFlight: BATCHES_IN_FLIGHT })
  }

  protected async joinMany(concertId: string, calls: JoinCall[]): Promise<(RawJoin | RawRefusal | undefined)[]> {
    // New entries sort after the copy of the line, unless they join the shuffled pre-queue.
    const line = this.#lines.get(concertId)
    if (line && calls.some((c) => c.mayCreate && line.covers(c.orderKey))) this.lineChanged(concertId)
    const { rows } = await retryingConflicts(() =>
      sql<JoinRow>`
      select * from queue_join_many(${concertId}, ${calls.map((c) => c.tokenId)}::text[], ${calls.map((c) => c.userId)}::text[],
        ${calls.map((c) => c.orderKey)}::bigint[], ${dates(calls.map((c) => c.at.now))}::timestamptz[],
        ${dates(calls.map((c) => c.at.staleBefore))}::timestamptz[], ${calls.map((c) => c.mayCreate)}::boolean[],
        ${calls.map((c) => c.limit?.address ?? null)}::text[], ${calls.map((c) => c.limit?.perWindow ?? null)}::integer[],
        ${calls.map((c) => c.limit?.windowMs ?? null)}::integer[])`.execute(this.db),
    )
    return rows.map(rawJoin)
  }

  protected async statusMany(concertId: string, calls: StatusCall[]): Promise<RawState[]> {
    const line = await this.lineOf(concertId, calls[0]!.at.now)
    const { rows } = await retryingConflicts(() =>
      sql<PollRow>`
      select * from queue_status_many(${concertId}, ${calls.map((c) => c.tokenId)}::text[],
        ${dates(calls.map((c) => c.at.now))}::timestamptz[], ${dates(calls.map((c) => c.at.staleBefore))}::timestamptz[],
        ${SEEN_GRANULARITY}::interval, ${calls.map((c) => c.entry.userId)}::text[],
        ${dates(calls.map((c) => c.entry.joinedAt))}::timestamptz[], ${calls.map((c) => c.entry.orderKey)}::bigint[],
        ${line.lastKey}::bigint, ${line.lastToken}, ${FRONT_ENTRIES}::integer)`.execute(this.db),
    )
    if (rows.some((r) => r.end_reason === 'WAITING_IDLE')) this.lineChanged(concertId)
    const { front_keys, front_tokens } = rows[0]!
    const front = { keys: front_keys.map(Number), tokens: front_tokens, whole: front_keys.length < FRONT_ENTRIES }
    for (const row of rows) {
      if (row.status !== 'WAITING') continue
      // After the copy's end: counted from there; within it: where it sorts in the copy.
      row.ahead =
        row.ahead !== null
          ? line.waitingAhead('end', front) + row.ahead
          : line.waitingAhead({ key: Number(row.order_key), token: row.token_id! }, front)
    }
    return rows.map(rawState)
  }

  /** This process's copy of the concert's waiting line: kept while fresh, else taken once for every poll waiting. */
  private async lineOf(concertId: string, now: number): Promise<LineCopy> {
    const line = this.#lines.get(concertId)
    if (line && now - line.takenAt < line.ttlMs && now >= line.takenAt) return line
    return this.#lineLoads.run(
      concertId,
      () => this.copyLine(concertId, now),
      (copy) => this.#lines.set(concertId, copy),
    )
  }

  private async copyLine(concertId: string, now: number): Promise<LineCopy> {
    const started = performance.now()
    const { rows } = await sql<{ order_key: string | number; token_id: string }>`select * from queue_line(${concertId})`.execute(this.db)
    const keys = new Float64Array(rows.length)
    const tokens = new Array<string>(rows.length)
    for (let i = 0; i < rows.length; i++) {
      keys[i] = Number(rows[i]!.order_key)
      tokens[i] = rows[i]!.token_id
    }
    return new LineCopy({ keys, tokens, takenAt: now, ttlMs: Math.max(LINE_COPY_MS, 10 * (performance.now() - started)) })
  }

  /** This process changed the concert's line: its copy is taken again on the next poll. */
  private lineChanged(concertId: string) {
    this.#lineLoads.invalidate(concertId)
    this.#lines.delete(concertId)
  }

  protected async touchMany(concertId: string, calls: TouchCall[]): Promise<RawState[]> {
    // One batch is one concert's: its settings are the same for every call but in the moment they change.
    const { rows } = await retryingConflicts(() =>
      sql<StateRow>`
      select * from queue_touch_many(${concertId}, ${calls.map((c) => c.tokenId)}::text[],
        ${dates(calls.map((c) => c.at.now))}::timestamptz[], ${dates(calls.map((c) => c.at.staleBefore))}::timestamptz[],
        ${`${calls[0]!.at.activeIdleMs} milliseconds`}::interval, ${SLIDE_GRANULARITY}::interval)`.execute(this.db),
    )
    return rows.map(rawState)
  }

  protected async peekMany(concertId: string, calls: PeekCall[]): Promise<RawState[]> {
    const { rows } = await sql<StateRow>`
      select * from queue_peek_many(${concertId}, ${calls.map((c) => c.tokenId)}::text[],
        ${dates(calls.map((c) => c.now))}::timestamptz[])`.execute(this.db)
    return rows.map(rawState)
  }

  async end(concertId: string, tokenId: string, reason: 'LEFT' | 'PAID', now: number, s: QueueSettings): Promise<boolean> {
    const at = deadlines(now, s)
    const { perTick, cap } = admissionBounds(s)
    const { rows } = await retryingConflicts(() =>
      sql<{ live: boolean }>`
      select queue_end(${concertId}, ${tokenId}, ${reason}, ${new Date(now)}, ${new Date(at.staleBefore)}, ${promotesOnFree(s)},
        ${perTick}::integer, ${cap}::integer, ${new Date(at.admittedUntil)}, ${new Date(at.admittedMaxUntil)}) as live`.execute(this.db),
    )
    const ended = rows[0]!.live
    if (ended) this.lineChanged(concertId)
    return ended
  }

  async tick(concertId: string, now: number, s: QueueSettings, seatsLeft?: number): Promise<TickResult> {
    const at = deadlines(now, s)
    const { perTick, cap } = admissionBounds(s, seatsLeft)
    const { rows } = await retryingConflicts(() =>
      sql<TickResult>`
      select * from queue_tick(${concertId}, ${new Date(now)}, ${now}::bigint, ${s.tickMs}::integer, ${new Date(at.staleBefore)},
        ${perTick}::integer, ${cap}::integer, ${new Date(at.admittedUntil)}, ${new Date(at.admittedMaxUntil)})`.execute(this.db),
    )
    const result = rows[0]!
    // Admission takes the front, which each poll reads afresh; entries ended further back need a new copy.
    if (result.expired > 0) this.lineChanged(concertId)
    return result
  }

  /** Read from the live entries themselves (sql/queue_live_concerts.sql): nothing to keep in step. */
  async liveConcerts(): Promise<string[]> {
    const { rows } = await sql<{ concert_id: string }>`select concert_id from queue_live_concerts()`.execute(this.db)
    return rows.map((r) => r.concert_id)
  }

  async recentAdmissions(concertId: string, now: number): Promise<RecentAdmissions> {
    const { rows } = await sql<{ admitted: number; first_admitted_at: Date | null; active: number }>`
      select * from queue_admission_pace(${concertId}, ${new Date(recentSince(now))}, ${new Date(now)})`.execute(this.db)
    const row = rows[0]!
    return { admittedLastMinute: row.admitted, firstAdmittedAt: row.first_admitted_at?.getTime() ?? null, active: row.active }
  }

  async figures(concertId: string, now: number, s: QueueSettings): Promise<QueueFigures> {
    const at = deadlines(now, s)
    const { rows } = await sql<{ waiting: number; active: number; admitted: number; p50: number | null }>`
      select * from queue_figures(${concertId}, ${new Date(now)}, ${new Date(at.staleBefore)}, ${new Date(at.recentSince)})`.execute(
      this.db,
    )
    const r = rows[0]!
    return {
      waiting: r.waiting,
      active: r.active,
      admittedLastMinute: r.admitted,
      p50WaitSeconds: r.p50 === null ? null : Math.round(r.p50),
    }
  }

  async addHealth(concertId: string, window: number, counts: HealthCounts): Promise<void> {
    await sql`select queue_health_add(${concertId}, ${window}::bigint, ${counts.buckets}::integer[], ${counts.errors}::integer,
      ${counts.served}::integer, ${window - HEALTH_KEEP_WINDOWS}::bigint)`.execute(this.db)
  }

  async takeWindow(concertId: string, window: number): Promise<AdaptiveWindow | undefined> {
    const from = window * ADAPTIVE_WINDOW_MS
    const { rows } = await sql<{ buckets: number[]; errors: number; served: number; admitted: number; waiting: number }>`
      select * from queue_adaptive_take(${concertId}, ${window}::bigint, ${new Date(from)}, ${new Date(from + ADAPTIVE_WINDOW_MS)})`.execute(
      this.db,
    )
    const row = rows[0]
    if (!row) return undefined
    const counts = row.buckets.length === 0 ? emptyCounts() : { buckets: row.buckets, errors: row.errors, served: row.served }
    return { counts, admitted: row.admitted, waiting: row.waiting }
  }

  async saveDecision(concertId: string, decision: AdaptiveRecord): Promise<void> {
    await sql`select queue_adaptive_save(${concertId}, ${decision.window}::bigint, ${JSON.stringify(decision)}::jsonb)`.execute(this.db)
  }

  async lastDecision(concertId: string): Promise<AdaptiveRecord | null> {
    const { rows } = await sql<{ decision: AdaptiveRecord | null }>`select queue_adaptive_decision(${concertId}) as decision`.execute(
      this.db,
    )
    return rows[0]!.decision
  }
}
