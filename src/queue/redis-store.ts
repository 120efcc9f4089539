import { Coalescer } from '../platform/coalescer.js'
import type { RedisClient } from '../platform/redis/client.js'
import { LuaScripts } from '../platform/redis/scripts.js'
import { admissionBounds, promotesOnFree, type QueueSettings } from './settings.js'
import type { EndReason, EntryState, JoinResult, QueueFigures, QueueStore, RecentAdmissions, TickResult, TokenEntry } from './store.js'
import { QUEUE_TOKEN_TTL_S } from './tokens.js'

type ScriptName = 'join' | 'status' | 'touch' | 'peek' | 'end' | 'tick' | 'recent' | 'figures'
/** The scripts that take many records in one run: the crowd's calls, coalesced per concert. */
type BatchedScript = 'join' | 'status' | 'touch' | 'peek'
type ScriptRecord = (string | number)[]

/**
 * Why a token ended is kept longer than any token lives: a payment of holds taken under it needs
 * the reason, and a token with no trace at all can then only be one whose data was lost.
 */
const ENDED_RETENTION_MS = (QUEUE_TOKEN_TTL_S + 3600) * 1000

/** The keys of one concert, each under the hash tag `{concertId}` (one Redis Cluster slot). */
const KEY_NAMES = ['waiting', 'seen', 'active', 'entries', 'users', 'maxuntil', 'tick', 'admitted', 'ended', 'reasons'] as const
type KeyName = (typeof KEY_NAMES)[number]

/** The keys each script takes, in its order (each script's header says what they hold). */
const SCRIPT_KEYS: Record<ScriptName, KeyName[]> = {
  join: ['users', 'entries', 'waiting', 'seen', 'active', 'maxuntil', 'ended', 'reasons'],
  status: ['active', 'maxuntil', 'waiting', 'seen', 'entries', 'users', 'ended', 'reasons'],
  touch: ['active', 'maxuntil', 'waiting', 'seen', 'entries', 'users', 'ended', 'reasons'],
  peek: ['active', 'maxuntil', 'waiting', 'seen', 'reasons'],
  end: ['active', 'maxuntil', 'waiting', 'seen', 'entries', 'users', 'ended', 'reasons', 'admitted'],
  tick: ['active', 'maxuntil', 'waiting', 'seen', 'entries', 'users', 'ended', 'reasons', 'admitted', 'tick'],
  recent: ['admitted'],
  figures: ['seen', 'active', 'admitted'],
}

type RawState = ['A', number] | ['W', number] | ['X', string]

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

/**
 * The queue on Redis: waiting tokens in a sorted set by order, active tokens in a sorted set
 * scored by expiry, and every state change one Lua script (lua/). All keys of a concert share the
 * hash tag `{concertId}`, so a Redis Cluster keeps them in one slot.
 */
export class RedisQueueStore implements QueueStore {
  private readonly scripts: LuaScripts<ScriptName>
  readonly #keys = new Map<string, Record<ScriptName, string[]>>()
  readonly #batches = new Map<BatchedScript, Coalescer<ScriptRecord, unknown>>()

  constructor(
    /** The connection (tests play a broken admission against the same keys through it). */
    readonly redis: RedisClient,
    private readonly prefix = 'sd:',
  ) {
    this.scripts = new LuaScripts(redis, new URL('./lua/', import.meta.url), 'stagedoor_queue')
    for (const name of ['join', 'status', 'touch', 'peek'] as const) {
      this.#batches.set(name, new Coalescer(async (concertId, records) => (await this.run(name, concertId, records.flat())) as unknown[]))
    }
  }

  /** Runs one record of a batched script, together with the other calls of this turn for the concert. */
  private batched(name: BatchedScript, concertId: string, record: ScriptRecord): Promise<unknown> {
    return this.#batches.get(name)!.run(concertId, record)
  }

  private run(name: ScriptName, concertId: string, args: (string | number)[]): Promise<unknown> {
    return this.scripts.run(name, this.keysOf(concertId)[name], args)
  }

  /** The keys of a concert, by name. */
  key(concertId: string, name: KeyName): string {
    return `${this.prefix}q:{${concertId}}:${name}`
  }

  /** Every key of a concert. */
  keys(concertId: string): string[] {
    return KEY_NAMES.map((n) => this.key(concertId, n))
  }

  private keysOf(concertId: string): Record<ScriptName, string[]> {
    let keys = this.#keys.get(concertId)
    if (!keys) {
      keys = Object.fromEntries(
        Object.entries(SCRIPT_KEYS).map(([script, names]) => [script, names.map((n) => this.key(concertId, n))]),
      ) as Record<ScriptName, string[]>
      if (this.#keys.size > 10_000) this.#keys.clear()
      this.#keys.set(concertId, keys)
    }
    return keys
  }

  async join(concertId: string, userId: string, tokenId: string, orderKey: number, now: number, s: QueueSettings): Promise<JoinResult> {
    return (await this.joinRecord(concertId, [userId, tokenId, now, orderKey, now - s.waitingIdleS * 1000, 1]))!
  }

  async rejoin(concertId: string, userId: string, now: number, s: QueueSettings): Promise<JoinResult | undefined> {
    return this.joinRecord(concertId, [userId, '', now, 0, now - s.waitingIdleS * 1000, 0])
  }

  private async joinRecord(concertId: string, record: ScriptRecord): Promise<JoinResult | undefined> {
    const [token, joinedAt, key, created, ...state] = (await this.batched('join', concertId, record)) as [
      string,
      string,
      string,
      number,
      ...RawState,
    ]
    if (token === '') return undefined
    return { tokenId: token, joinedAt: Number(joinedAt), orderKey: Number(key), created: created === 1, state: toState(state) }
  }

  async status(concertId: string, tokenId: string, now: number, s: QueueSettings, entry: TokenEntry): Promise<EntryState> {
    const record = [tokenId, now, now - s.waitingIdleS * 1000, entry.userId, entry.joinedAt, entry.orderKey]
    return toState((await this.batched('status', concertId, record)) as RawState)
  }

  async touch(concertId: string, tokenId: string, now: number, s: QueueSettings): Promise<EntryState> {
    const raw = await this.batched('touch', concertId, [tokenId, now, s.activeIdleS * 1000, now - s.waitingIdleS * 1000])
    return toState(raw as RawState)
  }

  async peek(concertId: string, tokenId: string, now: number): Promise<EntryState> {
    return toState((await this.batched('peek', concertId, [tokenId, now])) as RawState)
  }

  async end(concertId: string, tokenId: string, reason: 'LEFT' | 'PAID', now: number, s: QueueSettings): Promise<boolean> {
    const live = await this.run('end', concertId, [
      tokenId,
      now,
      reason,
      promotesOnFree(s) ? 1 : 0,
      s.maxActive,
      s.activeIdleS * 1000,
      s.activeMaxS * 1000,
      now - s.waitingIdleS * 1000,
    ])
    return live === 1
  }

  async tick(concertId: string, now: number, s: QueueSettings): Promise<TickResult> {
    const { perTick, cap } = admissionBounds(s)
    const [ran, admitted, expired] = (await this.run('tick', concertId, [
      now,
      s.tickMs,
      perTick,
      cap,
      s.activeIdleS * 1000,
      s.activeMaxS * 1000,
      now - s.waitingIdleS * 1000,
      now - ENDED_RETENTION_MS,
    ])) as [number, number, number]
    return { ran: ran === 1, admitted, expired }
  }

  async recentAdmissions(concertId: string, now: number): Promise<RecentAdmissions> {
    const [admitted, first] = (await this.run('recent', concertId, [now])) as [number, number]
    return { admittedLastMinute: admitted, firstAdmittedAt: first < 0 ? null : first }
  }

  async figures(concertId: string, now: number, s: QueueSettings): Promise<QueueFigures> {
    const [waiting, active, admitted, p50] = (await this.run('figures', concertId, [now, now - s.waitingIdleS * 1000])) as number[]
    return {
      waiting: waiting!,
      active: active!,
      admittedLastMinute: admitted!,
      p50WaitSeconds: p50! < 0 ? null : Math.round(p50! / 1000),
    }
  }
}
