import { randomInt } from 'node:crypto'
import type { Challenge } from 'altcha-lib'
import type { Cache } from '../platform/cache/cache.js'
import type { Clock } from '../platform/clock.js'
import { AppError, notFound } from '../platform/errors.js'
import { newId } from '../platform/ids.js'
import type { JoinChallenges } from './challenges.js'
import type { OwedEnds } from './owed-ends.js'
import type { QueueSettings, QueueSettingsPatch, QueueSettingsService } from './settings.js'
import type { EntryState, QueueFigures, QueueStore } from './store.js'
import type { QueueClaims, QueueTokens } from './tokens.js'

export interface QueueStatus {
  token: string
  concertId: string
  status: 'WAITING' | 'ACTIVE' | 'EXPIRED' | 'SOLD_OUT'
  position: number | null
  etaSeconds: number | null
  pollAfterMs: number | null
  /** When the admission ends unless used (RFC 3339), while ACTIVE. */
  activeUntil: string | null
  /** Seats of the concert neither held nor sold (at most 1 s old). */
  availableSeats: number
}

export interface QueueReport extends QueueFigures {
  config: QueueSettings
}

/** What the queue needs to know of a concert: when its line forms, when its sale opens, whether joining needs a proof of work. */
export interface QueueConcert {
  concertId: string
  queueOpensAt: Date | null
  saleOpensAt: Date | null
  joinChallenge: 'none' | 'pow'
}

/** What is left to sell of a concert (the reservation component, wired in by the app); at most 1 s old. */
export type Inventory = (concertId: string) => Promise<{ availableSeats: number; soldOut: boolean }>

/** Where the queue finds concerts (the catalog, wired in by the app). */
export interface ConcertDirectory {
  get(concertId: string): Promise<QueueConcert | undefined>
  list(): Promise<QueueConcert[]>
}

/**
 * What a status answer needs of its concert, besides the entry itself: read from memory by every
 * poll, and looked up again (once for all the polls waiting on it) when older than
 * POLL_CONTEXT_MS. The parts come from caches of their own that are already up to 1 s old.
 */
interface PollContext {
  concert: QueueConcert
  settings: QueueSettings
  inventory: { availableSeats: number; soldOut: boolean }
  /** Admissions per second, observed or promised (see admissionRate). */
  perSecond: number
  loadedAt: number
}

const POLL_CONTEXT_MS = 250

/** An end owed by a payment is left to the paying request this long before the loop takes it. */
const OWED_END_GRACE_MS = 2000
const RECENT_TTL_MS = 1000
const recentKey = (concertId: string) => `recent:${concertId}`
const MIN_POLL_MS = 1000
const MAX_POLL_MS = 30_000
/** A fan told the concert is sold out asks again this rarely: seats come back only by expiry or release. */
const SOLD_OUT_POLL_MS = 30_000
/** Pre-queue order keys: random negatives, so the pre-queue sorts ahead of every later join. */
const PREQUEUE_KEY_RANGE = 2 ** 48 - 1

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value))

const queueTokenEnded = () => new AppError('QUEUE_TOKEN_EXPIRED', 'the queue token has ended; join the queue again')

/**
 * The queue: joining, status, leaving, the gate, and the operators' view. The store keeps all
 * state, so any number of processes serve the same queue.
 */
export class QueueService {
  #arrivals = 0
  readonly #contexts = new Map<string, PollContext>()
  readonly #contextLoads = new Map<string, Promise<PollContext>>()

  constructor(
    private readonly store: QueueStore,
    private readonly settings: QueueSettingsService,
    private readonly concerts: ConcertDirectory,
    private readonly tokens: QueueTokens,
    private readonly owed: OwedEnds,
    private readonly inventory: Inventory,
    private readonly challenges: JoinChallenges,
    private readonly clock: Clock,
    /** This process's copy of each concert's recent admissions, for the observed rate in ETAs. */
    private readonly local: Cache,
  ) {}

  /**
   * Joins the concert's line, or gives back the fan's live entry. Refused before the line opens
   * and once every seat is sold; on a concert that asks for a proof of work, a new entry needs a
   * solved challenge (a fan already in line comes back without one).
   */
  async join(userId: string, concertId: string, altcha?: string): Promise<{ created: boolean; status: QueueStatus }> {
    const concert = await this.concert(concertId)
    const now = this.clock.now()
    if (concert.queueOpensAt && now < concert.queueOpensAt.getTime()) {
      throw new AppError('QUEUE_NOT_OPEN', `the queue opens at ${concert.queueOpensAt.toISOString()}`, {
        queueOpensAt: concert.queueOpensAt.toISOString(),
      })
    }
    const inventory = await this.inventory(concertId)
    if (inventory.soldOut) throw new AppError('SOLD_OUT', 'every seat of this concert is sold')
    const settings = await this.settings.of(concertId)
    let joined = concert.joinChallenge === 'pow' ? await this.store.rejoin(concertId, userId, now, settings) : undefined
    if (!joined) {
      if (concert.joinChallenge === 'pow') await this.checkChallenge(concertId, altcha)
      joined = await this.store.join(concertId, userId, newId('qt', now), this.orderKey(concert, now), now, settings)
    }
    const token = this.tokens.issue({ userId, concertId, tokenId: joined.tokenId, orderKey: joined.orderKey, joinedAt: joined.joinedAt })
    const perSecond = await this.admissionRate(concertId, now, settings)
    const context = { concert, settings, inventory, perSecond, loadedAt: now }
    return { created: joined.created, status: this.view(token, context, joined.state, now) }
  }

  /** A proof-of-work challenge to solve before joining a concert that asks for one. */
  async challenge(concertId: string): Promise<Challenge> {
    const concert = await this.concert(concertId)
    if (concert.joinChallenge !== 'pow') throw notFound('challenge: this concert asks for none')
    return this.challenges.create(concertId)
  }

  private async checkChallenge(concertId: string, altcha: string | undefined) {
    if (altcha === undefined) {
      throw new AppError(
        'CHALLENGE_REQUIRED',
        'joining this queue needs a solved challenge: GET the challenge, solve it, join with its payload',
      )
    }
    if ((await this.challenges.verify(altcha, concertId)) !== 'ok') {
      throw new AppError('CHALLENGE_FAILED', 'the challenge solution is wrong, expired or already used; solve a new challenge')
    }
  }

  /** Where the token stands: one store round trip; the concert's side is read from memory. */
  async status(token: string | undefined): Promise<QueueStatus> {
    const claims = this.tokens.verify(token)
    const known = this.pollContext(claims.concertId)
    const context = known instanceof Promise ? await known : known
    const now = this.clock.now()
    const state = await this.store.status(claims.concertId, claims.tokenId, now, context.settings, claims)
    return this.view(token!, context, state, now)
  }

  /** The concert's side of a status answer: from memory while fresh, else looked up once for every poll waiting. */
  private pollContext(concertId: string): PollContext | Promise<PollContext> {
    const context = this.#contexts.get(concertId)
    if (context && this.clock.now() - context.loadedAt < POLL_CONTEXT_MS) return context
    let load = this.#contextLoads.get(concertId)
    if (!load) {
      load = this.loadPollContext(concertId).finally(() => this.#contextLoads.delete(concertId))
      this.#contextLoads.set(concertId, load)
    }
    return load
  }

  private async loadPollContext(concertId: string): Promise<PollContext> {
    const now = this.clock.now()
    const concert = await this.concert(concertId)
    const settings = await this.settings.of(concertId)
    const inventory = await this.inventory(concertId)
    const perSecond = await this.admissionRate(concertId, now, settings)
    const context = { concert, settings, inventory, perSecond, loadedAt: now }
    if (this.#contexts.size >= 10_000) this.#contexts.clear()
    this.#contexts.set(concertId, context)
    return context
  }

  /** Leaves the line or gives up the active slot. Leaving twice is not an error. */
  async leave(token: string | undefined): Promise<void> {
    const { concertId, tokenId } = this.tokens.verify(token)
    await this.end(concertId, tokenId, 'LEFT')
  }

  /** Ends a token after its payment and frees its slot at once; the end owed by the payment is paid. */
  async endAfterPayment({ concertId, tokenId }: QueueClaims): Promise<void> {
    await this.end(concertId, tokenId, 'PAID')
    await this.owed.paid(tokenId)
  }

  /**
   * Ends the tokens whose payments committed but whose end did not follow (the paying process
   * died, or the store did not answer). Every process runs it; ending twice changes nothing.
   */
  async settleOwedEnds(): Promise<number> {
    const due = await this.owed.due(new Date(this.clock.now() - OWED_END_GRACE_MS), 500)
    for (const { tokenId, concertId } of due) {
      await this.end(concertId, tokenId, 'PAID')
      await this.owed.paid(tokenId)
    }
    return due.length
  }

  /** The claims of a validly signed Queue-Token header; 401 otherwise. */
  verifyToken(header: string | undefined): QueueClaims {
    return this.tokens.verify(header)
  }

  /**
   * The gate, after the credentials are verified: the resource's concert (undefined when the
   * resource does not exist) decides 404 and 403; an admitted token slides its expiry. Costs one
   * store round trip when the request is allowed. With `mayPayHoldsOfEndedToken`, a token that
   * ended by its payment or its hard limit passes too (the caller pays only holds taken under it).
   */
  async admit(
    claims: QueueClaims,
    userId: string,
    concertId: string | undefined,
    options: { mayPayHoldsOfEndedToken?: boolean } = {},
  ): Promise<void> {
    const now = this.clock.now()
    if (concertId === undefined || claims.userId !== userId || claims.concertId !== concertId) {
      // Refusals still check the token first: an ended token is 401 before any 404 or 403.
      const state = await this.store.peek(claims.concertId, claims.tokenId, now)
      if (state.state === 'EXPIRED') throw queueTokenEnded()
      if (concertId === undefined) throw notFound('resource')
      if (claims.userId !== userId) throw new AppError('QUEUE_TOKEN_NOT_YOURS', 'the queue token belongs to another user')
      throw new AppError('QUEUE_TOKEN_WRONG_CONCERT', 'the queue token is for another concert')
    }
    const state = options.mayPayHoldsOfEndedToken
      ? await this.store.peek(concertId, claims.tokenId, now)
      : await this.store.touch(concertId, claims.tokenId, now, await this.settings.of(concertId))
    switch (state.state) {
      case 'ACTIVE':
        return
      case 'EXPIRED':
        if (options.mayPayHoldsOfEndedToken && (state.reason === 'PAID' || state.reason === 'HARD_LIMIT')) return
        throw queueTokenEnded()
      case 'WAITING':
        throw new AppError('QUEUE_NOT_ADMITTED', `not admitted yet: position ${state.position}`, { position: state.position })
    }
  }

  /** Whether the token is this user's and ACTIVE, without sliding it (one store read). */
  async isActive(claims: QueueClaims, userId: string): Promise<boolean> {
    if (claims.userId !== userId) return false
    return (await this.store.peek(claims.concertId, claims.tokenId, this.clock.now())).state === 'ACTIVE'
  }

  async report(concertId: string): Promise<QueueReport> {
    await this.concert(concertId)
    const config = await this.settings.of(concertId)
    return { ...(await this.store.figures(concertId, this.clock.now(), config)), config }
  }

  /** The figures of every concert whose queue has opened, for the metrics. */
  async figuresOfOpenConcerts(): Promise<(QueueFigures & { concertId: string })[]> {
    const now = this.clock.now()
    const open = (await this.concerts.list()).filter((c) => !c.queueOpensAt || c.queueOpensAt.getTime() <= now)
    return Promise.all(
      open.map(async (c) => ({
        concertId: c.concertId,
        ...(await this.store.figures(c.concertId, now, await this.settings.of(c.concertId))),
      })),
    )
  }

  async configure(concertId: string, patch: QueueSettingsPatch): Promise<QueueSettings> {
    await this.concert(concertId)
    const settings = await this.settings.update(concertId, patch)
    // This process's polls see the change at once; the others' within a tick.
    this.#contexts.delete(concertId)
    return settings
  }

  /**
   * One admission pass over every concert whose sale is open. The store lets one tick per window
   * through, so admission keeps its rate however many processes run it.
   */
  async tick(): Promise<void> {
    // Fresh settings for the tick when the database answers; the last ones known when it does not.
    await this.settings.refresh().catch(() => undefined)
    const now = this.clock.now()
    for (const concert of await this.concerts.list()) {
      if (concert.saleOpensAt && concert.saleOpensAt.getTime() > now) continue
      const settings = await this.settings.of(concert.concertId)
      // Admission waits while nothing is left to hold; the tick still ends the stale.
      const { availableSeats } = await this.inventory(concert.concertId)
      const result = await this.store.tick(concert.concertId, now, availableSeats > 0 ? settings : { ...settings, paused: true })
      if (result.ran) await this.refreshRecentAdmissions(concert.concertId, now)
    }
  }

  /** How often the admission loop runs: a quarter of the shortest tick, so each window opens on time. */
  tickPeriodMs(): number {
    return Math.max(10, Math.min(250, Math.floor(this.settings.refreshMs / 4)))
  }

  /**
   * Where a new entry sorts: a random negative key in the pre-queue (shuffled ahead of every later
   * arrival), else the arrival time in milliseconds times 1,000 plus a count of this process's
   * joins, so keys follow arrival and stay distinct up to 1,000 joins a millisecond.
   */
  private orderKey(concert: QueueConcert, now: number): number {
    if (inPrequeue(concert, now)) return -randomInt(1, PREQUEUE_KEY_RANGE)
    this.#arrivals = (this.#arrivals + 1) % 1000
    return now * 1000 + this.#arrivals
  }

  private async end(concertId: string, tokenId: string, reason: 'LEFT' | 'PAID') {
    await this.store.end(concertId, tokenId, reason, this.clock.now(), await this.settings.of(concertId))
  }

  private async concert(concertId: string): Promise<QueueConcert> {
    const concert = await this.concerts.get(concertId)
    if (!concert) throw notFound('concert')
    return concert
  }

  /** One literal per answer: spreading a base object and adding fields is slow in V8, and this is every poll. */
  private view(token: string, { concert, settings, inventory, perSecond }: PollContext, state: EntryState, now: number): QueueStatus {
    const pollCap = Math.min(MAX_POLL_MS, Math.floor((settings.waitingIdleS * 1000) / 3))
    let status: QueueStatus['status'] = 'WAITING'
    let position: number | null = null
    let etaSeconds: number | null = null
    let pollAfterMs: number | null = null
    let activeUntil: string | null = null
    if (state.state === 'EXPIRED') {
      status = 'EXPIRED'
    } else if (state.state === 'ACTIVE') {
      status = 'ACTIVE'
      position = 0
      etaSeconds = 0
      pollAfterMs = clamp(Math.floor((state.activeUntil - now) / 2), MIN_POLL_MS, MAX_POLL_MS)
      activeUntil = new Date(state.activeUntil).toISOString()
    } else if (inventory.soldOut) {
      // The fan keeps the place: if seats come back (a hold expires), the line moves again.
      status = 'SOLD_OUT'
      position = state.position
      pollAfterMs = SOLD_OUT_POLL_MS
    } else if (inPrequeue(concert, now)) {
      const untilSale = concert.saleOpensAt!.getTime() - now
      etaSeconds = Math.ceil(untilSale / 1000)
      pollAfterMs = clamp(untilSale, MIN_POLL_MS, pollCap)
    } else {
      position = state.position
      etaSeconds = Math.ceil(state.position / perSecond)
      // Near the front, ask often; far back, rarely — but always before the idle limit.
      pollAfterMs = clamp(Math.floor((etaSeconds * 1000) / 4), MIN_POLL_MS, pollCap)
    }
    return {
      token,
      concertId: concert.concertId,
      status,
      position,
      etaSeconds,
      pollAfterMs,
      activeUntil,
      availableSeats: inventory.availableSeats,
    }
  }

  /**
   * Admissions per second: observed over the last minute, else what the settings promise
   * (for `cap`, the slots turning over once per idle period).
   */
  private async admissionRate(concertId: string, now: number, s: QueueSettings): Promise<number> {
    const recent = await this.local.get(recentKey(concertId), RECENT_TTL_MS, () => this.store.recentAdmissions(concertId, now))
    if (recent.admittedLastMinute > 0 && recent.firstAdmittedAt !== null) {
      const windowMs = clamp(now - recent.firstAdmittedAt + s.tickMs, s.tickMs, 60_000)
      return (recent.admittedLastMinute * 1000) / windowMs
    }
    if (s.strategy === 'cap') return s.maxActive / s.activeIdleS
    return (s.admitPerTick * 1000) / s.tickMs
  }

  /** Fresh admission counts after a tick, so ETAs follow the observed rate. */
  private async refreshRecentAdmissions(concertId: string, now: number) {
    await this.local.invalidate(recentKey(concertId))
    await this.local.get(recentKey(concertId), RECENT_TTL_MS, () => this.store.recentAdmissions(concertId, now))
  }
}

const inPrequeue = (concert: QueueConcert, now: number) => concert.saleOpensAt !== null && now < concert.saleOpensAt.getTime()
