import { Coalescer } from '../platform/coalescer.js'
import { rateLimited } from '../platform/errors.js'
import type { HealthCounts } from './booking-health.js'
import { type Deadlines, deadlines } from './deadlines.js'
import type { QueueSettings } from './settings.js'
import type {
  AdaptiveRecord,
  AdaptiveWindow,
  EndReason,
  EntryState,
  JoinLimit,
  JoinResult,
  QueueFigures,
  QueueStore,
  RecentAdmissions,
  TickResult,
  TokenEntry,
} from './store.js'

/**
 * An entry's state as a store answers it, before it becomes an `EntryState`: `W` waiting with its
 * position, `A` admitted until then (epoch ms), `X` ended with its reason (`UNKNOWN`: no trace).
 * A Redis poll that put its token back in line adds the generation to list the concert under.
 */
export type RawState = ['A', number] | ['W', number, number?] | ['X', string]

const toState = (raw: RawState): EntryState => {
  switch (raw[0]) {
    case 'A':
      return { state: 'ACTIVE', activeUntil: Number(raw[1]) }
    case 'W':
      return { state: 'WAITING', position: Number(raw[1]) }
    case 'X':
      return { state: 'EXPIRED', reason: raw[1] === 'UNKNOWN' ? null : (raw[1] as EndReason) }
  }
}

/** A join as a store answers it; none when a rejoin found no live entry. */
export interface RawJoin {
  tokenId: string
  joinedAt: number
  orderKey: number
  created: boolean
  state: RawState
}

/** A join its address's limit refused: how long until the address's window ends. */
export interface RawRefusal {
  retryAfterMs: number
}

/** One join or rejoin (`mayCreate` false: no entry is made) of a batch; with a limit, it counts first. */
export interface JoinCall {
  userId: string
  tokenId: string
  orderKey: number
  mayCreate: boolean
  at: Deadlines
  limit: JoinLimit | undefined
}

/** One status poll of a batch, with what its token says of its entry. */
export interface StatusCall {
  tokenId: string
  entry: TokenEntry
  at: Deadlines
  settings: QueueSettings
}

/** One pass through the gate of a batch. */
export interface TouchCall {
  tokenId: string
  at: Deadlines
}

/** One look at where a token stands, changing nothing. */
export interface PeekCall {
  tokenId: string
  now: number
}

/**
 * What both queue stores share: the crowd's calls (join, status poll, the gate, peek) are
 * gathered per concert and sent as one batch per event-loop turn (`Coalescer`), each with the
 * deadlines of its moment, and their answers become `EntryState`s in one place. A store says how
 * it runs a batch, and does the rest of `QueueStore` itself.
 */
export abstract class BatchedQueueStore implements QueueStore {
  readonly #joins: Coalescer<JoinCall, RawJoin | RawRefusal | undefined>
  readonly #polls: Coalescer<StatusCall, RawState>
  readonly #touches: Coalescer<TouchCall, RawState>
  readonly #peeks: Coalescer<PeekCall, RawState>

  /** `maxInFlight`: batches of one concert running at once in this process (the rest gather meanwhile). */
  constructor(options: { maxInFlight?: number } = {}) {
    this.#joins = new Coalescer((concertId, calls) => this.joinMany(concertId, calls), options)
    this.#polls = new Coalescer((concertId, calls) => this.statusMany(concertId, calls), options)
    this.#touches = new Coalescer((concertId, calls) => this.touchMany(concertId, calls), options)
    this.#peeks = new Coalescer((concertId, calls) => this.peekMany(concertId, calls), options)
  }

  /** Joins of one concert, in order; each answers with its entry, none (a rejoin without one), or its limit's refusal. */
  protected abstract joinMany(concertId: string, calls: JoinCall[]): Promise<(RawJoin | RawRefusal | undefined)[]>
  protected abstract statusMany(concertId: string, calls: StatusCall[]): Promise<RawState[]>
  /** The gate's calls of one concert; they share the concert's settings (`at.activeIdleMs`). */
  protected abstract touchMany(concertId: string, calls: TouchCall[]): Promise<RawState[]>
  protected abstract peekMany(concertId: string, calls: PeekCall[]): Promise<RawState[]>

  async join(
    concertId: string,
    userId: string,
    tokenId: string,
    orderKey: number,
    now: number,
    s: QueueSettings,
    limit?: JoinLimit,
  ): Promise<JoinResult> {
    return toJoin(await this.#joins.run(concertId, { userId, tokenId, orderKey, mayCreate: true, at: deadlines(now, s), limit }), limit)!
  }

  async rejoin(concertId: string, userId: string, now: number, s: QueueSettings, limit?: JoinLimit): Promise<JoinResult | undefined> {
    const call = { userId, tokenId: '', orderKey: 0, mayCreate: false, at: deadlines(now, s), limit }
    return toJoin(await this.#joins.run(concertId, call), limit)
  }

  async status(concertId: string, tokenId: string, now: number, s: QueueSettings, entry: TokenEntry): Promise<EntryState> {
    return toState(await this.#polls.run(concertId, { tokenId, entry, at: deadlines(now, s), settings: s }))
  }

  async touch(concertId: string, tokenId: string, now: number, s: QueueSettings): Promise<EntryState> {
    return toState(await this.#touches.run(concertId, { tokenId, at: deadlines(now, s) }))
  }

  async peek(concertId: string, tokenId: string, now: number): Promise<EntryState> {
    return toState(await this.#peeks.run(concertId, { tokenId, now }))
  }

  abstract end(concertId: string, tokenId: string, reason: 'LEFT' | 'PAID', now: number, settings: QueueSettings): Promise<boolean>
  abstract tick(concertId: string, now: number, settings: QueueSettings): Promise<TickResult>
  abstract liveConcerts(): Promise<string[]>
  abstract recentAdmissions(concertId: string, now: number): Promise<RecentAdmissions>
  abstract figures(concertId: string, now: number, settings: QueueSettings): Promise<QueueFigures>
  abstract addHealth(concertId: string, window: number, counts: HealthCounts): Promise<void>
  abstract takeWindow(concertId: string, window: number): Promise<AdaptiveWindow | undefined>
  abstract saveDecision(concertId: string, decision: AdaptiveRecord): Promise<void>
  abstract lastDecision(concertId: string): Promise<AdaptiveRecord | null>
}

function toJoin(raw: RawJoin | RawRefusal | undefined, limit: JoinLimit | undefined): JoinResult | undefined {
  if (raw && 'retryAfterMs' in raw) throw rateLimited(limit!.perWindow, raw.retryAfterMs)
  return raw && { ...raw, state: toState(raw.state) }
}
