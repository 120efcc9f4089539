import type { RedisClient } from '../../redis/client.js'
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
} from '../store.js'
import { LuaScripts } from '../../redis/scripts.js'
import { Coalescer } from '../../shared/coalescer.js'

type ScriptName = 'join' | 'status' | 'touch' | 'peek' | 'end' | 'tick' | 'recent' | 'figures'
/** The scripts that take many records in one run: the crowd's calls, coalesced per concert. */
type BatchedScript = 'join' | 'status' | 'touch' | 'peek'
type ScriptRecord = (string | number)[]

type RawState = [string, (string | number)?]

const toState = ([kind, value]: RawState): EntryState => {
  if (kind === 'A') return { state: 'ACTIVE', activeUntil: Number(value) }
  if (kind === 'W') return { state: 'WAITING', position: Number(value) }
  return { state: 'ENDED' }
}

/**
 * The waiting room on Redis (the week-7 design, done right): waiting tokens in a sorted set by
 * order, active tokens in a sorted set scored by expiry, and every state change one Lua script.
 * All keys of a concert share the hash tag `{concertId}`, so a Redis Cluster keeps them in one slot.
 */
export class RedisWaitingRoomStore implements WaitingRoomStore {
  private readonly scripts: LuaScripts<ScriptName>
  readonly #keys = new Map<string, string[]>()
  readonly #batches = new Map<BatchedScript, Coalescer<ScriptRecord, unknown>>()

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = 'sd:',
  ) {
    this.scripts = new LuaScripts(redis, new URL('./lua/', import.meta.url), 'stagedoor_queue')
    for (const name of ['join', 'status', 'touch', 'peek'] as const) {
      this.#batches.set(
        name,
        new Coalescer(async (concertId, records) => (await this.scripts.run(name, this.keys(concertId), records.flat())) as unknown[]),
      )
    }
  }

  /** Runs one record of a batched script, together with the other calls of this turn for the concert. */
  private batched(name: BatchedScript, concertId: string, record: ScriptRecord): Promise<unknown> {
    return this.#batches.get(name)!.run(concertId, record)
  }

  /** The concert's keys, in the order every script takes them (see lua/includes/common.lua). */
  keys(concertId: string): string[] {
    let keys = this.#keys.get(concertId)
    if (!keys) {
      const base = `${this.prefix}q:{${concertId}}:`
      keys = ['waiting', 'seen', 'active', 'entries', 'users', 'maxuntil', 'tick', 'seq', 'admitted'].map((k) => base + k)
      if (this.#keys.size > 10_000) this.#keys.clear()
      this.#keys.set(concertId, keys)
    }
    return keys
  }

  async join(
    concertId: string,
    userId: string,
    tokenId: string,
    prequeueKey: number | null,
    now: number,
    limits: AdmissionLimits,
  ): Promise<JoinResult> {
    const [token, joinedAt, created, ...state] = (await this.batched('join', concertId, [
      userId,
      tokenId,
      now,
      prequeueKey === null ? '' : String(prequeueKey),
      now - limits.waitingIdleMs,
    ])) as [string, string, number, string, string | number]
    return { tokenId: token, joinedAt: Number(joinedAt), created: created === 1, state: toState(state) }
  }

  async status(concertId: string, tokenId: string, now: number, limits: AdmissionLimits): Promise<EntryState> {
    const raw = await this.batched('status', concertId, [tokenId, now, now - limits.waitingIdleMs])
    return toState(raw as RawState)
  }

  async touch(concertId: string, tokenId: string, now: number, limits: AdmissionLimits): Promise<EntryState> {
    const raw = await this.batched('touch', concertId, [tokenId, now, limits.activeIdleMs, now - limits.waitingIdleMs])
    return toState(raw as RawState)
  }

  async peek(concertId: string, tokenId: string, now: number): Promise<EntryState> {
    return toState((await this.batched('peek', concertId, [tokenId, now])) as RawState)
  }

  async end(concertId: string, tokenId: string, _reason: EndReason, now: number, limits: AdmissionLimits): Promise<boolean> {
    const live = await this.scripts.run('end', this.keys(concertId), [
      tokenId,
      now,
      promotesOnFree(limits) ? 1 : 0,
      limits.maxActive,
      limits.activeIdleMs,
      limits.activeMaxMs,
      now - limits.waitingIdleMs,
    ])
    return live === 1
  }

  async tick(concertId: string, now: number, limits: AdmissionLimits): Promise<TickResult> {
    const { perTick, cap } = admissionBounds(limits)
    const [ran, admitted, expired] = (await this.scripts.run('tick', this.keys(concertId), [
      now,
      limits.tickMs,
      perTick,
      cap,
      limits.activeIdleMs,
      limits.activeMaxMs,
      now - limits.waitingIdleMs,
    ])) as [number, number, number]
    return { ran: ran === 1, admitted, expired }
  }

  async recentAdmissions(concertId: string, now: number): Promise<RecentAdmissions> {
    const [admitted, first] = (await this.scripts.run('recent', this.keys(concertId), [now])) as [number, number]
    return { admittedLastMinute: admitted, firstAdmittedAt: first < 0 ? null : first }
  }

  async figures(concertId: string, now: number, limits: AdmissionLimits): Promise<QueueFigures> {
    const [waiting, active, admitted, p50] = (await this.scripts.run('figures', this.keys(concertId), [
      now,
      now - limits.waitingIdleMs,
    ])) as number[]
    return {
      waiting: waiting!,
      active: active!,
      admittedLastMinute: admitted!,
      p50WaitSeconds: p50! < 0 ? null : Math.round(p50! / 1000),
    }
  }

  async close(): Promise<void> {}
}
