import { Generations } from '../platform/generations.js'
import type { RedisClient } from '../platform/redis/client.js'
import { LuaScripts } from '../platform/redis/scripts.js'
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
import { BEATS_PER_RUN, COPY_SLICE, joinSecondsOf, Relief, sliced } from './relief.js'
import { admissionBounds, promotesOnFree, type QueueSettings } from './settings.js'
import type { AdaptiveRecord, AdaptiveWindow, QueueFigures, RecentAdmissions, TickResult } from './store.js'
import { QUEUE_TOKEN_TTL_S } from './tokens.js'

type ConcertScript =
  | 'join'
  | 'status'
  | 'touch'
  | 'peek'
  | 'end'
  | 'tick'
  | 'recent'
  | 'figures'
  | 'adaptive-save'
  | 'adaptive'
  | 'slice'
  | 'beat'
/** The scripts of adaptive admission that take a window's key besides the concert's. */
type WindowScript = 'health-add' | 'adaptive-take'
/** The scripts of the list of live concerts: one key of its own, outside every concert's slot. */
type ListScript = 'list' | 'unlist' | 'live'
type ScriptName = ConcertScript | WindowScript | ListScript

/**
 * Why a token ended is kept longer than any token lives: a payment of holds taken under it needs
 * the reason, and a token with no trace at all can then only be one whose data was lost.
 */
const ENDED_RETENTION_MS = (QUEUE_TOKEN_TTL_S + 3600) * 1000
/** A window's booking health is kept this long: past the decision on it. */
const HEALTH_KEEP_MS = 10 * ADAPTIVE_WINDOW_MS
/** The adaptive controller's last window and decision are kept this long after their last use. */
const ADAPTIVE_KEEP_MS = 24 * 3600 * 1000

/** The keys of one concert, each under the hash tag `{concertId}` (one Redis Cluster slot). */
const KEY_NAMES = [
  'waiting',
  'seen',
  'active',
  'entries',
  'users',
  'maxuntil',
  'tick',
  'admitted',
  'ended',
  'reasons',
  'generation',
  'adaptive',
  'joins',
  'joinwindows',
  'counts',
  'joinseconds',
] as const
type KeyName = (typeof KEY_NAMES)[number]

/** The keys each script takes, in its order (each script's header says what they hold). */
const SCRIPT_KEYS: Record<ConcertScript, KeyName[]> = {
  join: [
    'users',
    'entries',
    'waiting',
    'seen',
    'active',
    'maxuntil',
    'ended',
    'reasons',
    'admitted',
    'generation',
    'joins',
    'joinwindows',
    'counts',
    'joinseconds',
  ],
  status: ['active', 'maxuntil', 'waiting', 'seen', 'entries', 'users', 'ended', 'reasons', 'admitted', 'generation', 'counts'],
  touch: ['active', 'maxuntil', 'waiting', 'seen', 'entries', 'users', 'ended', 'reasons', 'counts'],
  peek: ['active', 'maxuntil', 'waiting', 'seen', 'reasons'],
  end: ['active', 'maxuntil', 'waiting', 'seen', 'entries', 'users', 'ended', 'reasons', 'admitted', 'counts'],
  tick: ['active', 'maxuntil', 'waiting', 'seen', 'entries', 'users', 'ended', 'reasons', 'admitted', 'tick', 'generation', 'counts'],
  recent: ['admitted', 'active'],
  figures: ['seen', 'active', 'admitted'],
  'adaptive-save': ['adaptive'],
  adaptive: ['adaptive'],
  slice: ['waiting', 'counts', 'joinseconds'],
  beat: ['seen', 'counts', 'joinseconds'],
}

/** One join's answer from the join script (its header says what each shape means). */
function toJoinAnswer(result: unknown): RawJoin | RawRefusal | undefined {
  const [first, second] = result as [string, string?]
  if (first === '') return second === undefined ? undefined : { retryAfterMs: Number(second) }
  const [tokenId, joinedAt, orderKey, created, ...state] = result as [string, string, string, number, ...RawState]
  return { tokenId, joinedAt: Number(joinedAt), orderKey: Number(orderKey), created: created === 1, state }
}

/** Concerts per run of the list script. */
const LIST_CHUNK = 1000

/**
 * The queue on Redis: waiting tokens in a sorted set by order, active tokens in a sorted set
 * scored by expiry, and every state change one Lua script (lua/). All keys of a concert share the
 * hash tag `{concertId}`, so a Redis Cluster keeps them in one slot.
 *
 * The concerts with someone in line are listed in one sorted set of their own (`q:live`, in
 * whatever slot it falls in, so it is written in a call after the concert's script): a join lists
 * its concert under its line's generation, which every entry made raises, and the tick that
 * finds a line empty unlists the concert only while it is listed under that generation or below.
 * A join that raced the removal has raised the generation, so its concert stays listed (or is
 * listed again by the join's own call); at worst a concert stays listed until its next tick.
 */
export class RedisQueueStore extends BatchedQueueStore {
  private readonly scripts: LuaScripts<ScriptName>
  readonly #keys = new Generations<Record<ConcertScript, string[]>>(5_000)
  /** The list as this process last read it: concert -> generation it was listed under. */
  #listed = new Map<string, number>()
  /**
   * Concerts whose polls found someone in line since the list was last read: listed again then
   * (under generation 0, which leaves a listed concert as it is), in case the list lost them.
   * The 10,000 seen last at most: one forgotten is kept again by its next poll.
   */
  readonly #seenInLine = new Generations<true>(5_000)
  /** What this process knows of each concert's line to answer polls far from the front. */
  readonly relief = new Relief()
  readonly #copies = new SingleFlight<number>()

  constructor(
    /** The connection (tests play a broken admission against the same keys through it). */
    readonly redis: RedisClient,
    private readonly prefix = 'sd:',
  ) {
    super()
    this.scripts = new LuaScripts(redis, new URL('./lua/', import.meta.url), 'stagedoor_queue')
  }

  protected async joinMany(concertId: string, calls: JoinCall[]): Promise<(RawJoin | RawRefusal | undefined)[]> {
    const records = calls.map((c) => [
      c.userId,
      c.tokenId,
      c.at.now,
      c.orderKey,
      c.at.staleBefore,
      c.mayCreate ? 1 : 0,
      c.limit?.address ?? '',
      c.limit?.perWindow ?? 0,
      c.limit?.windowMs ?? 0,
    ])
    const results = (await this.run('join', concertId, records.flat())) as unknown[]
    const generation = results.pop() as number
    const answers = results.map(toJoinAnswer)
    // Listed before any of the batch's joins is answered (a join again lists it again), unless
    // every one was refused, which changes nothing.
    if (!answers.every((a) => a !== undefined && 'retryAfterMs' in a)) await this.list([[generation, concertId]])
    return answers
  }

  /**
   * Polls far from the front are answered from this process's copy of the line and sent as
   * heartbeats at the next tick (relief.ts); the others run the status script.
   */
  protected async statusMany(concertId: string, calls: StatusCall[]): Promise<RawState[]> {
    const answers: (RawState | undefined)[] = calls.map((c) => {
      const position = this.relief.answer(concertId, c)
      return position === undefined ? undefined : ['W', position]
    })
    const exact = calls.filter((_, i) => answers[i] === undefined)
    const first = calls[0]!
    if (this.relief.copyDue(concertId, first.at.now, first.settings)) void this.copyLine(concertId, first.at.now).catch(() => undefined)
    if (exact.length === 0) return answers as RawState[]
    const records = exact.map((c) => [c.tokenId, c.at.now, c.at.staleBefore, c.entry.userId, c.entry.joinedAt, c.entry.orderKey])
    const states = (await this.run('status', concertId, records.flat())) as RawState[]
    let next = 0
    for (let i = 0; i < answers.length; i++) answers[i] ??= states[next++]
    this.sawLine(concertId, states)
    // Tokens put back in line after a loss of data list their concert at once.
    let restored = -1
    for (const s of states) if (s[0] === 'W' && s[2] !== undefined) restored = Math.max(restored, s[2])
    if (restored >= 0) await this.list([[restored, concertId]])
    return answers as RawState[]
  }

  /**
   * Takes this process's copy of the concert's line, in slices (one script run each), at most one
   * at a time: the polls that asked run the status script meanwhile. From the primary. Answers
   * the fans copied.
   */
  copyLine(concertId: string, now: number): Promise<number> {
    return this.#copies.run(concertId, async () => {
      const answers: unknown[][] = []
      let last: [token: string, key: string] = ['', '']
      for (;;) {
        const answer = (await this.run('slice', concertId, [...last, COPY_SLICE])) as unknown[]
        answers.push(answer)
        if (answer.length - 5 < 2 * COPY_SLICE) break
        last = [answer.at(-2) as string, answer.at(-1) as string]
      }
      const copy = sliced(answers, now)
      this.relief.copied(concertId, copy)
      return copy.line.tokens.length
    })
  }

  /** Sends the heartbeats noted since the last tick and reads the line's counts (lua/beat-3.lua). */
  private async beat(concertId: string, now: number) {
    const beats = this.relief.takeBeats(concertId)
    const gone: string[] = []
    let answer: [number, number, number, string[], string[]]
    let i = 0
    do {
      answer = (await this.run('beat', concertId, beats.slice(i, i + BEATS_PER_RUN).flat())) as typeof answer
      gone.push(...answer[3])
      i += BEATS_PER_RUN
    } while (i < beats.length)
    const [front, left, unordered, , seconds] = answer
    this.relief.read(concertId, { counts: { front, left, unordered }, joinSeconds: joinSecondsOf(seconds), readAt: now }, gone)
  }

  protected async touchMany(concertId: string, calls: TouchCall[]): Promise<RawState[]> {
    const records = calls.map((c) => [c.tokenId, c.at.now, c.at.activeIdleMs, c.at.staleBefore])
    const states = (await this.run('touch', concertId, records.flat())) as RawState[]
    this.sawLine(concertId, states)
    return states
  }

  protected async peekMany(concertId: string, calls: PeekCall[]): Promise<RawState[]> {
    return (await this.run(
      'peek',
      concertId,
      calls.flatMap((c) => [c.tokenId, c.now]),
    )) as RawState[]
  }

  private run(name: ConcertScript, concertId: string, args: (string | number)[]): Promise<unknown> {
    return this.scripts.run(name, this.keysOf(concertId)[name], args)
  }

  /** The list of live concerts: one key for the whole deployment. */
  get liveKey(): string {
    return `${this.prefix}q:live`
  }

  /** Lists concerts as live, each under a generation of its line. */
  private async list(concerts: [generation: number, concertId: string][]) {
    for (let i = 0; i < concerts.length; i += LIST_CHUNK) {
      await this.scripts.run('list', [this.liveKey], concerts.slice(i, i + LIST_CHUNK).flat())
    }
  }

  private sawLine(concertId: string, states: RawState[]) {
    if (this.#seenInLine.get(concertId)) return
    if (states.some((s) => s[0] !== 'X')) this.#seenInLine.set(concertId, true)
  }

  async liveConcerts(): Promise<string[]> {
    const seen = this.#seenInLine.keys()
    if (seen.length > 0) {
      await this.list(seen.map((c) => [0, c]))
      for (const c of seen) this.#seenInLine.delete(c)
    }
    const listed = (await this.scripts.run('live', [this.liveKey], [])) as string[]
    const generations = new Map<string, number>()
    for (let i = 0; i < listed.length; i += 2) generations.set(listed[i]!, Number(listed[i + 1]))
    this.#listed = generations
    return [...generations.keys()]
  }

  /** The keys of a concert, by name. */
  key(concertId: string, name: KeyName): string {
    return `${this.prefix}q:{${concertId}}:${name}`
  }

  /** The key of a concert's booking health in one window (expiring). */
  healthKey(concertId: string, window: number): string {
    return `${this.prefix}q:{${concertId}}:health:${window}`
  }

  /** Every key of a concert (the booking health's windows expire by themselves). */
  keys(concertId: string): string[] {
    return KEY_NAMES.map((n) => this.key(concertId, n))
  }

  private keysOf(concertId: string): Record<ConcertScript, string[]> {
    let keys = this.#keys.get(concertId)
    if (!keys) {
      keys = Object.fromEntries(
        Object.entries(SCRIPT_KEYS).map(([script, names]) => [script, names.map((n) => this.key(concertId, n))]),
      ) as Record<ConcertScript, string[]>
      this.#keys.set(concertId, keys)
    }
    return keys
  }

  async end(concertId: string, tokenId: string, reason: 'LEFT' | 'PAID', now: number, s: QueueSettings): Promise<boolean> {
    const at = deadlines(now, s)
    const promote = promotesOnFree(s) ? 1 : 0
    const live = await this.run('end', concertId, [
      tokenId,
      now,
      reason,
      promote,
      s.maxActive,
      at.activeIdleMs,
      at.activeMaxMs,
      at.staleBefore,
    ])
    return live === 1
  }

  /**
   * Then the heartbeats, and the counts read after the tick's admissions. A heartbeat sent a tick
   * after its poll keeps the fan in line all the same: the fan's previous poll, at the pace it was
   * told, is far inside the waiting idle limit.
   */
  async tick(concertId: string, now: number, s: QueueSettings, seatsLeft?: number): Promise<TickResult> {
    const result = await this.admit(concertId, now, s, seatsLeft)
    await this.beat(concertId, now)
    return result
  }

  private async admit(concertId: string, now: number, s: QueueSettings, seatsLeft?: number): Promise<TickResult> {
    const at = deadlines(now, s)
    const { perTick, cap } = admissionBounds(s, seatsLeft)
    const [ran, admitted, expired, emptyAt] = (await this.run('tick', concertId, [
      now,
      s.tickMs,
      perTick,
      cap,
      at.activeIdleMs,
      at.activeMaxMs,
      at.staleBefore,
      now - ENDED_RETENTION_MS,
      this.#listed.get(concertId) ?? 0,
    ])) as [number, number, number, number]
    if (emptyAt >= 0) await this.scripts.run('unlist', [this.liveKey], [concertId, emptyAt])
    return { ran: ran === 1, admitted, expired }
  }

  async recentAdmissions(concertId: string, now: number): Promise<RecentAdmissions> {
    const [admitted, first, active] = (await this.run('recent', concertId, [now, recentSince(now)])) as [number, number, number]
    return { admittedLastMinute: admitted, firstAdmittedAt: first < 0 ? null : first, active }
  }

  async figures(concertId: string, now: number, s: QueueSettings): Promise<QueueFigures> {
    const at = deadlines(now, s)
    const [waiting, active, admitted, p50] = (await this.run('figures', concertId, [now, at.staleBefore, at.recentSince])) as number[]
    return {
      waiting: waiting!,
      active: active!,
      admittedLastMinute: admitted!,
      p50WaitSeconds: p50! < 0 ? null : Math.round(p50! / 1000),
    }
  }

  async addHealth(concertId: string, window: number, counts: HealthCounts): Promise<void> {
    const pairs: number[] = []
    counts.buckets.forEach((n, bucket) => {
      if (n > 0) pairs.push(bucket, n)
    })
    await this.scripts.run('health-add', [this.healthKey(concertId, window)], [HEALTH_KEEP_MS, counts.errors, counts.served, ...pairs])
  }

  async takeWindow(concertId: string, window: number): Promise<AdaptiveWindow | undefined> {
    const keys = [
      this.key(concertId, 'adaptive'),
      this.healthKey(concertId, window),
      this.key(concertId, 'admitted'),
      this.key(concertId, 'waiting'),
    ]
    const from = window * ADAPTIVE_WINDOW_MS
    const taken = (await this.scripts.run('adaptive-take', keys, [window, from, from + ADAPTIVE_WINDOW_MS, ADAPTIVE_KEEP_MS])) as number[]
    if (taken.length === 0) return undefined
    const [admitted, waiting, errors, served, ...pairs] = taken as [number, number, number, number, ...number[]]
    const counts = emptyCounts()
    counts.errors = errors
    counts.served = served
    for (let i = 0; i < pairs.length; i += 2) counts.buckets[pairs[i]!] = pairs[i + 1]!
    return { counts, admitted, waiting }
  }

  async saveDecision(concertId: string, decision: AdaptiveRecord): Promise<void> {
    await this.run('adaptive-save', concertId, [decision.window, JSON.stringify(decision), ADAPTIVE_KEEP_MS])
  }

  async lastDecision(concertId: string): Promise<AdaptiveRecord | null> {
    const json = (await this.run('adaptive', concertId, [])) as string | null
    return json === null ? null : (JSON.parse(json) as AdaptiveRecord)
  }
}
