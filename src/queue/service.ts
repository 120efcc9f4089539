import { randomInt } from 'node:crypto'
import type { Challenge } from 'altcha-lib'
import type { Inventory } from '../inventory/service.js'
import type { Cache } from '../platform/cache/cache.js'
import type { Clock } from '../platform/clock.js'
import { AppError, notFound } from '../platform/errors.js'
import { Generations } from '../platform/generations.js'
import { newId } from '../platform/ids.js'
import type { Metrics } from '../platform/metrics.js'
import { SingleFlight } from '../platform/single-flight.js'
import type { PresaleCodes } from '../presale/service.js'
import { ADAPTIVE_WINDOW_MS, type AdaptiveDecision, decide, describe, type HealthSignal } from './adaptive.js'
import { answered, type BookingHealth, latencyP90 } from './booking-health.js'
import type { JoinChallenges } from './challenges.js'
import { RECENT_WINDOW_MS, waitingIdleMs } from './deadlines.js'
import type { OwedEnds } from './owed-ends.js'
import type { QueueSettings, QueueSettingsPatch, QueueSettingsService } from './settings.js'
import type { AdaptiveRecord, AdaptiveWindow, EntryState, JoinLimit, QueueFigures, QueueStore } from './store.js'
import type { QueueClaims, QueueTokens } from './tokens.js'

export interface QueueStatus {
  token: string
  concertId: string
  status: 'WAITING' | 'ACTIVE' | 'EXPIRED' | 'SOLD_OUT'
  position: number | null
  etaSeconds: number | null
  pollAfterMs: number | null
  /** The longest a waiting fan may go without asking and keep the place (a hidden page waits this long). */
  pollBeforeMs: number | null
  /** When the admission ends unless used (RFC 3339), while ACTIVE. */
  activeUntil: string | null
  /** Seats of the concert neither held nor sold (at most 1 s old). */
  availableSeats: number
}

/** Adaptive admission as operators see it: the rate now, and the last decision with its reason. */
interface AdaptiveView {
  enabled: boolean
  admitPerTick: number
  /** Of the last decision's window; null before any decision. */
  latencyP90Ms: number | null
  errorRate: number | null
  reason: AdaptiveDecision['reason'] | null
  /** The last decision in words. */
  decision: string | null
  decidedAt: string | null
}

export interface QueueReport extends QueueFigures {
  config: QueueSettings
  adaptive: AdaptiveView
}

/** A live concert's figures for the metrics, with its rate and, while adaptive, the last decision's signal. */
export interface LiveConcertFigures extends QueueFigures {
  concertId: string
  admitPerTick: number
  latencyP90Ms: number | null
  errorRate: number | null
}

/**
 * What the queue needs to know of a concert: when its line forms, when its presale and its sale
 * open, whether joining needs a proof of work.
 */
export interface QueueConcert {
  concertId: string
  queueOpensAt: Date | null
  /** Admission starts here, not at the sale, and until the sale a new entry needs a presale code. */
  presaleOpensAt: Date | null
  saleOpensAt: Date | null
  joinChallenge: 'none' | 'pow'
}

/** What a join may bring besides the user: the payload of a solved challenge, a presale code. */
export interface JoinProofs {
  altcha?: string
  code?: string
}

/** Where the queue finds concerts (the catalog, wired in by the app). */
export interface ConcertDirectory {
  get(concertId: string): Promise<QueueConcert | undefined>
}

/** What the queue is built from (named, as several parts share a type). */
export interface QueueParts {
  store: QueueStore
  settings: QueueSettingsService
  concerts: ConcertDirectory
  tokens: QueueTokens
  owed: OwedEnds
  inventory: Inventory
  challenges: JoinChallenges
  /** The presale codes a join during a presale is checked against. */
  presale: PresaleCodes
  clock: Clock
  /** This process's copy of each concert's recent admissions, for the observed rate in ETAs. */
  local: Cache
  /** This process's counts of holds and payments, which the admission loop adds to the store's. */
  health: BookingHealth
  /** Where the queue gauges go: read from this service at each scrape. */
  metrics: Metrics
}

/**
 * What a status answer needs of its concert, besides the entry itself: read from memory by every
 * poll, and looked up again (once for all the polls that ask meanwhile) when older than
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
/** A poll context this old or older is no answer: the poll waits for the next. */
const POLL_CONTEXT_STALE_MS = 10_000
/** How long a poll waits for a new context before it answers from the one before. */
const POLL_CONTEXT_PATIENCE_MS = 100
/** A concert stays in the metrics this long after its line was last seen with someone in it, so its figures fall to zero. */
const FIGURES_AFTER_LINE_MS = 60_000

/** An end owed by a payment is left to the paying request this long before the loop takes it. */
const OWED_END_GRACE_MS = 2000
const RECENT_TTL_MS = 1000
/** A pace observed over less than this is a burst, not a pace: the estimate stands in for it. */
const OBSERVED_PACE_MS = 10_000
const recentKey = (concertId: string) => `recent:${concertId}`
const MIN_POLL_MS = 1000
const MAX_POLL_MS = 30_000
/** A fan told the concert is sold out asks again this rarely: seats come back only by expiry or release. */
const SOLD_OUT_POLL_MS = 30_000
/** Pre-queue order keys: random negatives, so the pre-queue sorts ahead of every later join. */
const PREQUEUE_KEY_RANGE = 2 ** 48 - 1
/**
 * A window of booking health is decided this long after it ends, in the middle of the next one:
 * every process adds its counts each tick, so by then theirs have arrived.
 */
const ADAPTIVE_GRACE_MS = ADAPTIVE_WINDOW_MS / 2
/** A concert's last adaptive decision sets its rate this long; a decision is made every window while fans wait. */
const DECISION_IN_FORCE_MS = 5 * ADAPTIVE_WINDOW_MS

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value))

/** Admissions per second while the tick rate limits admission. */
const tickRate = (s: QueueSettings) => (s.admitPerTick * 1000) / s.tickMs

/**
 * The wait of the fan at `position`, in whole seconds, nearest (at least 1). While the tick rate
 * sets the pace, admission comes in steps at the start of each tick window (floor(now / tickMs)):
 * the fan's turn is the ceil(position / admitPerTick)-th tick from now, the first at the next
 * window's start. Counting whole ticks from now instead promises up to a tick too late, half a
 * tick on average, so fans would be admitted before the time they were told. Where slots coming
 * free set the pace, the position over the pace.
 */
function waitSeconds(position: number, perSecond: number, s: QueueSettings, now: number): number {
  const ms =
    s.strategy !== 'cap' && perSecond === tickRate(s)
      ? s.tickMs - (now % s.tickMs) + (Math.ceil(position / s.admitPerTick) - 1) * s.tickMs
      : (position / perSecond) * 1000
  return Math.max(1, Math.round(ms / 1000))
}

/** A wait told to a crowd, spread by ±20%, so fans told the same wait do not come back in step. */
const spread = (ms: number) => Math.round(ms * (0.8 + Math.random() * 0.4))

/** The waiting idle limit, less a margin for a slow network: a poll within it keeps the place. */
const keepPlaceMs = (s: QueueSettings) => Math.floor(waitingIdleMs(s) * 0.8)

/**
 * The queue: joining, status, leaving, and the operators' view (the gate is `QueueGate`). The store keeps all
 * state, so any number of processes serve the same queue.
 */
export class QueueService {
  #arrivals = 0
  readonly #contexts = new Generations<PollContext>(5_000)
  readonly #contextLoads = new SingleFlight<PollContext>()
  /** Per lookup of a poll context, what the polls that came while it ran answer with (pollContext). */
  readonly #patience = new WeakMap<Promise<PollContext>, Promise<PollContext>>()
  /** When this process last saw each concert listed as live, for the metrics. */
  readonly #lastSeenLive = new Map<string, number>()
  /** The last window this process asked to decide, per concert: one ask per window. */
  readonly #adaptedWindows = new Generations<number>(5_000)

  private readonly store: QueueStore
  private readonly settings: QueueSettingsService
  private readonly concerts: ConcertDirectory
  private readonly tokens: QueueTokens
  private readonly owed: OwedEnds
  private readonly inventory: Inventory
  private readonly challenges: JoinChallenges
  private readonly presale: PresaleCodes
  private readonly clock: Clock
  private readonly local: Cache
  private readonly health: BookingHealth

  constructor(parts: QueueParts) {
    this.store = parts.store
    this.settings = parts.settings
    this.concerts = parts.concerts
    this.tokens = parts.tokens
    this.owed = parts.owed
    this.inventory = parts.inventory
    this.challenges = parts.challenges
    this.presale = parts.presale
    this.clock = parts.clock
    this.local = parts.local
    this.health = parts.health
    parts.metrics.registerQueueGauges(() => this.figuresOfLiveConcerts())
    // A change made through another process, read as it commits: the next poll here counts on it.
    this.settings.onChange((concertId) => {
      for (const id of concertId === undefined ? this.#contexts.keys() : [concertId]) this.forgetPollContext(id)
    })
  }

  /**
   * Joins the concert's line, or gives back the fan's live entry. Refused before the line opens
   * and once every seat is sold. A new entry needs a solved challenge on a concert that asks for a
   * proof of work, and a presale code until the sale opens on a concert with a presale; a fan
   * already in line comes back without either. With a `limit`, the join counts against its
   * address's in its first call to the store, before any proof is looked at (so a wrong one counts
   * too), and one too many is refused with 429 RATE_LIMITED.
   */
  async join(
    userId: string,
    concertId: string,
    { altcha, code }: JoinProofs = {},
    limit?: JoinLimit,
  ): Promise<{ created: boolean; status: QueueStatus }> {
    const concert = await this.concert(concertId)
    // The rest of the concert's side as a status poll reads it: from memory, with the rate in force.
    const context = await this.pollContext(concertId)
    const { settings, inventory } = context
    const now = this.clock.now()
    if (concert.queueOpensAt && now < concert.queueOpensAt.getTime()) {
      throw new AppError('QUEUE_NOT_OPEN', `the queue opens at ${concert.queueOpensAt.toISOString()}`, {
        queueOpensAt: concert.queueOpensAt.toISOString(),
      })
    }
    if (inventory.soldOut) throw new AppError('SOLD_OUT', 'every seat of this concert is sold')
    const pow = concert.joinChallenge === 'pow'
    const presale = needsPresaleCode(concert, now)
    const proofs = pow || presale
    // A join counts once, in its first call to the store: the rejoin's, when there are proofs to check.
    let joined = proofs ? await this.store.rejoin(concertId, userId, now, settings, limit) : undefined
    if (!joined) {
      if (pow) await this.checkChallenge(concertId, altcha)
      if (presale) await this.checkPresaleCode(concert, userId, code)
      const key = this.orderKey(concert, now)
      joined = await this.store.join(concertId, userId, newId('qt', now), key, now, settings, proofs ? undefined : limit)
    }
    const token = this.tokens.issue({ userId, concertId, tokenId: joined.tokenId, orderKey: joined.orderKey, joinedAt: joined.joinedAt })
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

  /**
   * A presale code lets this user in: used in one step with its check, so a code is never used
   * by more users than it may be. A code used and then not followed by an entry (the store did
   * not answer) is the user's: the retry with it uses it no further.
   */
  private async checkPresaleCode(concert: QueueConcert, userId: string, code: string | undefined) {
    const saleOpensAt = concert.saleOpensAt!.toISOString()
    if (code === undefined) {
      throw new AppError('PRESALE_CODE_REQUIRED', `until the sale opens at ${saleOpensAt}, joining needs a presale code`, { saleOpensAt })
    }
    const use = await this.presale.use(concert.concertId, code, userId)
    if (use === 'INVALID') throw new AppError('PRESALE_CODE_INVALID', 'this is not a presale code of this concert')
    if (use === 'USED') throw new AppError('PRESALE_CODE_USED', 'this presale code has been used by as many other fans as it may')
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

  /**
   * The concert's side of a status answer: from memory while fresh, else looked up once for every
   * poll waiting. While the lookup takes longer than POLL_CONTEXT_PATIENCE_MS, or fails, a context
   * less than POLL_CONTEXT_STALE_MS old answers instead: a crowd's polls do not queue behind the
   * holds and payments that saturate the database, nor fail with them.
   */
  private pollContext(concertId: string): PollContext | Promise<PollContext> {
    const context = this.#contexts.get(concertId)
    const age = context === undefined ? Number.POSITIVE_INFINITY : this.clock.now() - context.loadedAt
    if (age < POLL_CONTEXT_MS) return context!
    const loading = this.#contextLoads.run(
      concertId,
      () => this.loadPollContext(concertId),
      (loaded) => this.#contexts.set(concertId, loaded),
    )
    if (age >= POLL_CONTEXT_STALE_MS) return loading
    // One wait per lookup, shared by every poll that comes while it runs.
    let answer = this.#patience.get(loading)
    if (!answer) {
      answer = new Promise<PollContext>((resolve) => {
        const timer = setTimeout(() => resolve(context!), POLL_CONTEXT_PATIENCE_MS)
        const settle = (value: PollContext) => {
          clearTimeout(timer)
          resolve(value)
        }
        loading.then(settle, () => settle(context!))
      })
      this.#patience.set(loading, answer)
    }
    return answer
  }

  private async loadPollContext(concertId: string): Promise<PollContext> {
    const now = this.clock.now()
    const concert = await this.concert(concertId)
    // The rate in force: an adaptive decision counts from the store at once, its copy in the settings behind it.
    const settings = await this.inForce(concertId, await this.settings.of(concertId), now)
    const inventory = await this.inventory.left(concertId)
    const perSecond = await this.admissionRate(concertId, now, settings)
    return { concert, settings, inventory, perSecond, loadedAt: now }
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

  async report(concertId: string): Promise<QueueReport> {
    await this.knownConcert(concertId)
    const now = this.clock.now()
    const settings = await this.settings.of(concertId)
    const [figures, last] = await Promise.all([this.store.figures(concertId, now, settings), this.store.lastDecision(concertId)])
    const config = await this.inForce(concertId, settings, now, last)
    return { ...figures, config, adaptive: adaptiveView(config, last) }
  }

  /** The figures of every concert with someone in line, or with someone in the last minute, for the metrics. */
  async figuresOfLiveConcerts(): Promise<LiveConcertFigures[]> {
    const now = this.clock.now()
    await this.liveConcerts(now)
    return Promise.all(
      [...this.#lastSeenLive.keys()].map(async (concertId) => {
        const settings = await this.settings.of(concertId)
        const [figures, last] = await Promise.all([
          this.store.figures(concertId, now, settings),
          settings.adaptive.enabled ? this.store.lastDecision(concertId) : null,
        ])
        const { admitPerTick } = await this.inForce(concertId, settings, now, last)
        return { concertId, ...figures, admitPerTick, latencyP90Ms: last?.latencyP90Ms ?? null, errorRate: last?.errorRate ?? null }
      }),
    )
  }

  async configure(concertId: string, patch: QueueSettingsPatch): Promise<QueueSettings> {
    await this.concert(concertId)
    return this.apply(concertId, patch)
  }

  private async apply(concertId: string, patch: QueueSettingsPatch): Promise<QueueSettings> {
    const settings = await this.settings.update(concertId, patch)
    // This process's polls see the change at once; the others' as they hear of it (settings.ts).
    this.forgetPollContext(concertId)
    return settings
  }

  private forgetPollContext(concertId: string) {
    this.#contextLoads.invalidate(concertId)
    this.#contexts.delete(concertId)
  }

  /**
   * One admission pass over the concerts with someone in line whose admission has started (at the
   * presale, or else at the sale). The store lists
   * them without looking at every concert, so a concert nobody waits for costs the loop nothing.
   * The store lets one tick per window through, so admission keeps its rate however many
   * processes run it. First this process's counts of holds and payments go to the store, where
   * adaptive admission reads every process's.
   */
  async tick(): Promise<void> {
    // Settings at most a tick old when the database answers; the last ones known when it does not.
    await this.settings.refreshWhenDue().catch(() => undefined)
    const now = this.clock.now()
    await this.flushHealth()
    for (const concertId of await this.liveConcerts(now)) {
      // Before admission starts the line only gathers: its pre-queue order was drawn as each fan joined.
      // A line of no known concert is still ticked (with no seats, so admitting no one): it empties and leaves the list.
      const concert = await this.concerts.get(concertId)
      if (concert && inPrequeue(concert, now)) continue
      const settings = await this.settings.of(concertId)
      // No more fans active at once than seats left to sell: admission waits while nothing is left
      // to hold (the tick still ends the stale), and seats that come back go to the fans in line,
      // one fan a seat, in line order.
      const { availableSeats, unsoldSeats } = await this.inventory.left(concertId)
      const inForce = await this.inForce(concertId, settings, now)
      const result = await this.store.tick(concertId, now, inForce, availableSeats > 0 ? unsoldSeats : 0)
      if (result.ran) await this.refreshRecentAdmissions(concertId, now)
      if (settings.adaptive.enabled) await this.adapt(concertId, now, settings)
    }
  }

  /**
   * Adaptive admission's part of the tick, which the deployment also runs as a loop of its own
   * (app.ts): it needs only the queue's store, the settings last read and the concert as the polls
   * last read it, so a database that answers late or not at all, which holds the tick up, neither
   * delays nor skips a decision.
   */
  async adaptLive(): Promise<void> {
    const now = this.clock.now()
    await this.flushHealth()
    for (const concertId of await this.liveConcerts(now)) {
      const settings = await this.settings.of(concertId)
      if (!settings.adaptive.enabled) continue
      const concert = this.#contexts.get(concertId)?.concert ?? (await this.concerts.get(concertId))
      if (concert && inPrequeue(concert, now)) continue
      await this.adapt(concertId, now, settings)
    }
  }

  /** Adds this process's counts to the store's; those the store did not take wait for the next tick. */
  private async flushHealth() {
    const entries = this.health.drain()
    for (let i = 0; i < entries.length; i++) {
      const { concertId, window, counts } = entries[i]!
      try {
        await this.store.addHealth(concertId, window, counts)
      } catch (err) {
        this.health.restore(entries.slice(i))
        throw err
      }
    }
  }

  /**
   * Adaptive admission (docs/queue.md#adaptive-admission): once per window, in the middle of the
   * next one, the one process that takes the window from the store decides the concert's next
   * rate by the law in adaptive.ts and keeps the decision in the store, where every process's
   * next tick admits by it (`inForce`) and shows it. The concert's `admitPerTick` takes a copy,
   * written behind: the database may be the very thing that answers late or not at all, and
   * neither the loop nor the rate waits for it; a copy it did not take, a later decision writes.
   */
  private async adapt(concertId: string, now: number, s: QueueSettings) {
    const window = Math.floor((now - ADAPTIVE_GRACE_MS) / ADAPTIVE_WINDOW_MS) - 1
    if ((this.#adaptedWindows.get(concertId) ?? Number.NEGATIVE_INFINITY) >= window) return
    this.#adaptedWindows.set(concertId, window)
    const taken = await this.store.takeWindow(concertId, window)
    if (!taken) return
    const last = await this.store.lastDecision(concertId)
    const current = await this.inForce(concertId, s, now, last)
    const cutWindow = last?.cutWindow ?? null
    const memory = {
      windowsSinceCut: cutWindow === null ? undefined : window - cutWindow,
      ceiling: last?.ceiling ?? undefined,
      lastP90Ms: last?.latencyP90Ms ?? undefined,
    }
    const decision = decide(current.admitPerTick, signalOf(taken, window, current), s.adaptive, memory)
    await this.store.saveDecision(concertId, {
      ...decision,
      window,
      cutWindow: decision.cut ? window : cutWindow,
      words: describe(decision, s.adaptive),
      decidedAt: now,
    })
    if (decision.admitPerTick !== s.admitPerTick) void this.apply(concertId, { admitPerTick: decision.admitPerTick }).catch(() => undefined)
  }

  /**
   * The settings admission runs by: while adaptive admission is on, with the last decision's rate
   * (within the bounds), from the store, as soon as any process has made it. A decision older than
   * DECISION_IN_FORCE_MS no longer counts (the line was gone, or adaptive admission was off
   * meanwhile): then the settings' rate, which is its copy or the operator's since.
   */
  private async inForce(concertId: string, s: QueueSettings, now: number, known?: AdaptiveRecord | null): Promise<QueueSettings> {
    if (!s.adaptive.enabled) return s
    const last = known === undefined ? await this.store.lastDecision(concertId) : known
    if (!last || now - last.decidedAt > DECISION_IN_FORCE_MS) return s
    return { ...s, admitPerTick: clamp(last.admitPerTick, s.adaptive.minAdmitPerTick, s.adaptive.maxAdmitPerTick) }
  }

  /** The concerts listed as live; each is remembered as seen now (and forgotten a while after). */
  private async liveConcerts(now: number): Promise<string[]> {
    const live = await this.store.liveConcerts()
    for (const concertId of live) this.#lastSeenLive.set(concertId, now)
    for (const [concertId, seenAt] of this.#lastSeenLive) {
      if (now - seenAt > FIGURES_AFTER_LINE_MS) this.#lastSeenLive.delete(concertId)
    }
    return live
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

  /**
   * The concert as this process's polls last read it, else as `concert` finds it: the operators'
   * report of a line that fans poll answers from memory even while the catalog's database does not.
   */
  private async knownConcert(concertId: string): Promise<QueueConcert> {
    return this.#contexts.get(concertId)?.concert ?? this.concert(concertId)
  }

  private async concert(concertId: string): Promise<QueueConcert> {
    const concert = await this.concerts.get(concertId)
    if (!concert) throw notFound('concert')
    return concert
  }

  /** One literal per answer: spreading a base object and adding fields is slow in V8, and this is every poll. */
  private view(token: string, { concert, settings, inventory, perSecond }: PollContext, state: EntryState, now: number): QueueStatus {
    const pollCap = Math.min(MAX_POLL_MS, Math.floor(waitingIdleMs(settings) / 3))
    let status: QueueStatus['status'] = 'WAITING'
    let position: number | null = null
    let etaSeconds: number | null = null
    let pollAfterMs: number | null = null
    let pollBeforeMs: number | null = null
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
      pollAfterMs = spread(SOLD_OUT_POLL_MS)
      pollBeforeMs = keepPlaceMs(settings)
    } else if (inPrequeue(concert, now)) {
      const untilAdmission = admissionOpensAt(concert)!.getTime() - now
      etaSeconds = Math.ceil(untilAdmission / 1000)
      pollAfterMs = spread(clamp(untilAdmission, MIN_POLL_MS, pollCap))
      pollBeforeMs = keepPlaceMs(settings)
    } else {
      position = state.position
      etaSeconds = waitSeconds(state.position, perSecond, settings, now)
      // Near the front, ask often; far back, rarely — but always before the idle limit.
      pollAfterMs = spread(clamp(Math.floor((etaSeconds * 1000) / 4), MIN_POLL_MS, pollCap))
      pollBeforeMs = keepPlaceMs(settings)
    }
    return {
      token,
      concertId: concert.concertId,
      status,
      position,
      etaSeconds,
      pollAfterMs,
      pollBeforeMs,
      activeUntil,
      availableSeats: inventory.availableSeats,
    }
  }

  /**
   * Admissions per second, for the wait estimates. While the rate is what limits admission (the
   * `rate` strategy, or `hybrid` with room under its cap) the tick admits exactly `admitPerTick`
   * while anyone waits, so the settings are the pace: a change by the operator or the adaptive
   * controller shows in the next answer. A count of recent admissions would lag a change by its
   * window and, early in a sale, count the ticks when the line was still filling. Where the cap
   * limits, slots turning over set the pace: observed over the last minute once that spans
   * OBSERVED_PACE_MS, else estimated as the slots turning over once per idle period.
   */
  private async admissionRate(concertId: string, now: number, s: QueueSettings): Promise<number> {
    const perTick = tickRate(s)
    if (s.strategy === 'rate') return perTick
    const recent = await this.local.get(recentKey(concertId), RECENT_TTL_MS, () => this.store.recentAdmissions(concertId, now))
    if (s.strategy === 'hybrid' && recent.active + s.admitPerTick <= s.maxActive) return perTick
    const turnover = s.maxActive / s.activeIdleS
    const windowMs = recent.firstAdmittedAt === null ? 0 : Math.min(now - recent.firstAdmittedAt + s.tickMs, RECENT_WINDOW_MS)
    const pace = windowMs >= OBSERVED_PACE_MS ? (recent.admittedLastMinute * 1000) / windowMs : turnover
    return s.strategy === 'hybrid' ? Math.min(perTick, pace) : pace
  }

  /** Fresh admission counts after a tick, so ETAs follow the observed rate. */
  private async refreshRecentAdmissions(concertId: string, now: number) {
    await this.local.invalidate(recentKey(concertId))
    await this.local.get(recentKey(concertId), RECENT_TTL_MS, () => this.store.recentAdmissions(concertId, now))
  }
}

/**
 * A window's signal for the law. `slotUse` is the share of the window's admission slots that were
 * filled: fans admitted in the window over `admitPerTick` times the ticks that began in it. Under
 * it, a higher rate would admit no more (the cap limits, the line runs dry, admission is paused).
 */
function signalOf(taken: AdaptiveWindow, window: number, s: QueueSettings): HealthSignal {
  const from = window * ADAPTIVE_WINDOW_MS
  const ticks = Math.ceil((from + ADAPTIVE_WINDOW_MS) / s.tickMs) - Math.ceil(from / s.tickMs)
  const slots = s.admitPerTick * ticks
  return {
    requests: answered(taken.counts),
    errors: taken.counts.errors,
    latencyP90Ms: latencyP90(taken.counts),
    servedPerTick: (taken.counts.served * s.tickMs) / ADAPTIVE_WINDOW_MS,
    waiting: taken.waiting,
    slotUse: slots > 0 ? Math.min(1, taken.admitted / slots) : 1,
  }
}

const adaptiveView = (s: QueueSettings, last: AdaptiveRecord | null): AdaptiveView => ({
  enabled: s.adaptive.enabled,
  admitPerTick: s.admitPerTick,
  latencyP90Ms: last === null || last.latencyP90Ms === null ? null : Math.round(last.latencyP90Ms * 10) / 10,
  errorRate: last?.errorRate ?? null,
  reason: last?.reason ?? null,
  decision: last?.words ?? null,
  decidedAt: last ? new Date(last.decidedAt).toISOString() : null,
})

/** Admission starts at the presale, where there is one, else at the sale; null: from the start. */
const admissionOpensAt = (concert: QueueConcert) => concert.presaleOpensAt ?? concert.saleOpensAt

/** Before admission starts, fans gather in the pre-queue, to be admitted in shuffled order. */
const inPrequeue = (concert: QueueConcert, now: number) => {
  const opens = admissionOpensAt(concert)
  return opens !== null && now < opens.getTime()
}

/** On a concert with a presale, from the line's opening until the sale opens, a new entry needs a code. */
const needsPresaleCode = (concert: QueueConcert, now: number) =>
  concert.presaleOpensAt !== null && concert.saleOpensAt !== null && now < concert.saleOpensAt.getTime()
