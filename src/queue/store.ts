import type { AdaptiveDecision } from './adaptive.js'
import type { HealthCounts } from './booking-health.js'
import type { QueueSettings } from './settings.js'

/** Where a token stands, as the store sees it now. */
export type EntryState =
  | { state: 'WAITING'; position: number }
  | { state: 'ACTIVE'; activeUntil: number }
  /** `reason` is null when the store no longer knows (or never knew) the token. */
  | { state: 'EXPIRED'; reason: EndReason | null }

export interface JoinResult {
  tokenId: string
  joinedAt: number
  /** Where the entry sorts in line; its token carries it, so a lost line can be rebuilt. */
  orderKey: number
  created: boolean
  state: EntryState
}

/**
 * A join's limit per client address: at most `perWindow` joins of one address to one concert in a
 * window that starts at the address's first join and lasts `windowMs` (a minute, as every limit of
 * platform/http/rate-limits.ts), counted by the store, so every process shares the count.
 */
export interface JoinLimit {
  /** platform/http/rate-limits.ts `clientAddress`. */
  address: string
  perWindow: number
  windowMs: number
}

/** What a queue token says of its entry: enough to put it back in line. */
export interface TokenEntry {
  userId: string
  joinedAt: number
  orderKey: number
}

export interface TickResult {
  /** False when another process already ran this tick window. */
  ran: boolean
  admitted: number
  expired: number
}

/** The last minute's admissions: what the observed rate in wait estimates comes from. */
export interface RecentAdmissions {
  admittedLastMinute: number
  /** When the oldest admission of the last minute happened. */
  firstAdmittedAt: number | null
  /** Fans admitted and active now: whether a cap leaves room decides which pace counts. */
  active: number
}

export interface QueueFigures {
  waiting: number
  active: number
  admittedLastMinute: number
  p50WaitSeconds: number | null
}

/** One window of a concert's booking health, every process's counts merged, as the process whose turn it is takes it. */
export interface AdaptiveWindow {
  counts: HealthCounts
  /** Fans admitted during the window. */
  admitted: number
  /** Fans in line now. */
  waiting: number
}

/** A concert's last adaptive decision, kept in the store so that every process shows it. */
export interface AdaptiveRecord extends AdaptiveDecision {
  /** The window it was decided on. */
  window: number
  /** The window of the last decision that cut the rate, this one or an earlier; null: none. */
  cutWindow: number | null
  /** The decision in words (adaptive.ts `describe`). */
  words: string
  decidedAt: number
}

/** Why an entry ended: the fan left or paid (by request), or a deadline passed (by the store). */
export type EndReason = 'LEFT' | 'PAID' | 'WAITING_IDLE' | 'ACTIVE_IDLE' | 'HARD_LIMIT'

/**
 * One waiting room per concert. Two implementations (Redis, and the database) pass one contract
 * suite. Every method is one atomic step in the store, so any number of processes may call any of
 * them at once; `now` comes from the caller's clock. Each step also applies the deadlines it meets
 * (a waiting entry silent for `waitingIdleS`, an admission past its idle or hard limit): the
 * store decides expiry, in both implementations, whether or not a tick has run.
 */
export interface QueueStore {
  /**
   * Joins the line, or returns the user's live entry (idempotent per user and concert). A new
   * entry sorts by `orderKey`: a random negative one in the pre-queue, else by arrival time.
   * With a `limit`, the join first counts against its address's window, in the same step; one
   * too many is refused (AppError RATE_LIMITED, with the time until the window ends) and changes
   * nothing but the count.
   */
  join(
    concertId: string,
    userId: string,
    tokenId: string,
    orderKey: number,
    now: number,
    settings: QueueSettings,
    limit?: JoinLimit,
  ): Promise<JoinResult>

  /** The user's live entry, as a join would give it back; none is made. A `limit` counts as a join's does. */
  rejoin(concertId: string, userId: string, now: number, settings: QueueSettings, limit?: JoinLimit): Promise<JoinResult | undefined>

  /**
   * A status poll: where the token stands; a waiting entry is marked as seen. A token of which
   * the store has no trace (its data was lost) is put back in line at its order key, unless its
   * user has joined again since.
   */
  status(concertId: string, tokenId: string, now: number, settings: QueueSettings, entry: TokenEntry): Promise<EntryState>

  /** The gate: an ACTIVE entry slides to now + activeIdle, never past admittedAt + activeMax. */
  touch(concertId: string, tokenId: string, now: number, settings: QueueSettings): Promise<EntryState>

  /** Where the token stands, changing nothing. */
  peek(concertId: string, tokenId: string, now: number): Promise<EntryState>

  /**
   * Ends an entry (the user left, or paid) and frees its place or slot at once; under the `cap`
   * strategy the freed slot goes to the next in line in the same step. False if it had ended.
   */
  end(concertId: string, tokenId: string, reason: 'LEFT' | 'PAID', now: number, settings: QueueSettings): Promise<boolean>

  /**
   * One admission tick, run at most once per tick window (`floor(now / tickMs)`) however many
   * processes call it: ends idle and over-limit entries, then admits by the strategy, with at
   * most `seatsLeft` fans active at once when given (settings.ts `admissionBounds`).
   */
  tick(concertId: string, now: number, settings: QueueSettings, seatsLeft?: number): Promise<TickResult>

  /**
   * The concerts whose line someone may be in (waiting or admitted), found without looking at
   * every concert: the admission loop ticks these only. A concert with an entry is always listed,
   * from the moment its join has answered; one whose line has emptied leaves the list by its next
   * tick at the latest.
   */
  liveConcerts(): Promise<string[]>

  /** Cheap: read after every tick by every process. */
  recentAdmissions(concertId: string, now: number): Promise<RecentAdmissions>

  /** For operators: counts and the median wait of the last minute's admissions. */
  figures(concertId: string, now: number, settings: QueueSettings): Promise<QueueFigures>

  /**
   * Adds one process's counts of a window (`floor(time / ADAPTIVE_WINDOW_MS)`) to the concert's
   * booking health; a window's counts are kept a few windows, then forgotten.
   */
  addHealth(concertId: string, window: number, counts: HealthCounts): Promise<void>

  /**
   * The adaptive controller's turn at a window: the first call for a window (or a later one)
   * answers with its merged counts, the admissions in it and the line's length now; every other
   * call, in any process, answers undefined. A window older than the last taken is never taken.
   */
  takeWindow(concertId: string, window: number): Promise<AdaptiveWindow | undefined>

  /** Keeps the decision taken on a window, unless a later window has been taken since. */
  saveDecision(concertId: string, decision: AdaptiveRecord): Promise<void>

  /** The concert's last adaptive decision, if any. */
  lastDecision(concertId: string): Promise<AdaptiveRecord | null>
}
