import type { QueueStrategy } from '../config.js'

/** Where a token stands, as the store sees it now. */
export type EntryState =
  | { state: 'WAITING'; position: number }
  | { state: 'ACTIVE'; activeUntil: number }
  | { state: 'ENDED' }

export interface JoinResult {
  tokenId: string
  joinedAt: number
  created: boolean
  state: EntryState
}

/** The effective admission settings of one concert, in milliseconds. */
export interface AdmissionLimits {
  strategy: QueueStrategy
  admitPerTick: number
  tickMs: number
  maxActive: number
  paused: boolean
  activeIdleMs: number
  activeMaxMs: number
  waitingIdleMs: number
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
}

export interface QueueFigures {
  waiting: number
  active: number
  admittedLastMinute: number
  p50WaitSeconds: number | null
}

export type EndReason = 'LEFT' | 'PAID'

/**
 * One waiting room per concert. Two implementations (Redis, and the database) pass one contract
 * suite. Every method is one atomic step in the store, so any number of processes may call any of
 * them at once; `now` comes from the caller's clock.
 */
export interface WaitingRoomStore {
  /**
   * Joins the line, or returns the user's live entry (idempotent per user and concert).
   * `prequeueKey`: a random negative order key for a pre-queue join, null to join at the back.
   */
  join(concertId: string, userId: string, tokenId: string, prequeueKey: number | null, now: number, limits: AdmissionLimits): Promise<JoinResult>

  /** A status poll: where the token stands; a waiting entry is marked as seen. */
  status(concertId: string, tokenId: string, now: number, limits: AdmissionLimits): Promise<EntryState>

  /** The gate: an ACTIVE entry slides to now + activeIdle, never past admittedAt + activeMax. */
  touch(concertId: string, tokenId: string, now: number, limits: AdmissionLimits): Promise<EntryState>

  /** Where the token stands, changing nothing. */
  peek(concertId: string, tokenId: string, now: number): Promise<EntryState>

  /**
   * Ends an entry (the user left, or paid) and frees its place or slot at once; under the `cap`
   * strategy the freed slot goes to the next in line in the same step. False if it had ended.
   */
  end(concertId: string, tokenId: string, reason: EndReason, now: number, limits: AdmissionLimits): Promise<boolean>

  /**
   * One admission tick, run at most once per tick window (`floor(now / tickMs)`) however many
   * processes call it: ends idle and over-limit entries, then admits by the strategy.
   */
  tick(concertId: string, now: number, limits: AdmissionLimits): Promise<TickResult>

  /** Cheap: read after every tick by every process. */
  recentAdmissions(concertId: string, now: number): Promise<RecentAdmissions>

  /** For operators: counts and the median wait of the last minute's admissions. */
  figures(concertId: string, now: number, limits: AdmissionLimits): Promise<QueueFigures>

  close(): Promise<void>
}

/**
 * The strategy as two bounds both stores apply atomically: at most `perTick` admissions in one tick
 * (-1: no limit) and at most `cap` active at once (-1: no limit).
 */
export function admissionBounds(limits: AdmissionLimits): { perTick: number; cap: number } {
  if (limits.paused) return { perTick: 0, cap: -1 }
  switch (limits.strategy) {
    case 'rate':
      return { perTick: limits.admitPerTick, cap: -1 }
    case 'cap':
      return { perTick: -1, cap: limits.maxActive }
    case 'hybrid':
      return { perTick: limits.admitPerTick, cap: limits.maxActive }
  }
}

/** Whether a freed slot is handed to the next in line at once (cap), rather than at the next tick. */
export const promotesOnFree = (limits: AdmissionLimits) => !limits.paused && limits.strategy === 'cap'
