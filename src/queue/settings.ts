import type { QueueSettings, QueueStrategy } from '../config.js'
import type { Db } from '../db/database.js'
import type { Clock } from '../shared/clock.js'
import type { AdmissionLimits } from './store.js'

/** What an operator may change live, per concert. */
export interface QueueOverrides {
  strategy?: QueueStrategy
  admitPerTick?: number
  tickMs?: number
  maxActive?: number
  paused?: boolean
}

export interface EffectiveQueueConfig {
  strategy: QueueStrategy
  admitPerTick: number
  tickMs: number
  maxActive: number
  paused: boolean
  activeIdleS: number
  activeMaxS: number
  waitingIdleS: number
}

/** How often a process re-reads the operators' overrides at most, and at least once a tick. */
const MAX_REFRESH_MS = 1000

/**
 * The deployment's queue settings with the operators' per-concert overrides, kept in the
 * database and re-read by every process at least once a tick, so a change reaches all of them.
 */
export class QueueSettingsService {
  #overrides = new Map<string, QueueOverrides>()
  /** Effective settings per concert, rebuilt after each refresh: the hot paths only look up. */
  #effective = new Map<string, { config: EffectiveQueueConfig; limits: AdmissionLimits }>()
  #loadedAt = Number.NEGATIVE_INFINITY
  #loading: Promise<void> | undefined

  constructor(
    private readonly db: Db,
    private readonly defaults: QueueSettings,
    private readonly clock: Clock,
  ) {}

  /** The shortest tick of any concert: how often the overrides must be re-read. */
  get refreshMs(): number {
    let ms = Math.min(MAX_REFRESH_MS, this.defaults.tickMs)
    for (const o of this.#overrides.values()) if (o.tickMs) ms = Math.min(ms, o.tickMs)
    return ms
  }

  async config(concertId: string): Promise<EffectiveQueueConfig> {
    return (await this.effective(concertId)).config
  }

  async limits(concertId: string): Promise<AdmissionLimits> {
    return (await this.effective(concertId)).limits
  }

  private async effective(concertId: string) {
    if (this.clock.now() - this.#loadedAt >= this.refreshMs) await this.refresh()
    let effective = this.#effective.get(concertId)
    if (!effective) {
      const config = this.merge(concertId)
      effective = { config, limits: toLimits(config) }
      this.#effective.set(concertId, effective)
    }
    return effective
  }

  private merge(concertId: string): EffectiveQueueConfig {
    const o = this.#overrides.get(concertId) ?? {}
    const d = this.defaults
    return {
      strategy: o.strategy ?? d.strategy,
      admitPerTick: o.admitPerTick ?? d.admitPerTick,
      tickMs: o.tickMs ?? d.tickMs,
      maxActive: o.maxActive ?? d.maxActive,
      paused: o.paused ?? false,
      activeIdleS: d.activeIdleS,
      activeMaxS: d.activeMaxS,
      waitingIdleS: d.waitingIdleS,
    }
  }

  /** Re-reads every override (single flight). */
  refresh(): Promise<void> {
    this.#loading ??= this.db
      .selectFrom('queue_settings')
      .selectAll()
      .execute()
      .then((rows) => {
        this.#overrides = new Map(
          rows.map((r) => [
            r.concert_id,
            {
              strategy: r.strategy ?? undefined,
              admitPerTick: r.admit_per_tick ?? undefined,
              tickMs: r.tick_ms ?? undefined,
              maxActive: r.max_active ?? undefined,
              paused: r.paused,
            },
          ]),
        )
        this.#effective = new Map()
        this.#loadedAt = this.clock.now()
      })
      .finally(() => (this.#loading = undefined))
    return this.#loading
  }

  async update(concertId: string, patch: QueueOverrides): Promise<EffectiveQueueConfig> {
    const values = {
      ...(patch.strategy !== undefined ? { strategy: patch.strategy } : {}),
      ...(patch.admitPerTick !== undefined ? { admit_per_tick: patch.admitPerTick } : {}),
      ...(patch.tickMs !== undefined ? { tick_ms: patch.tickMs } : {}),
      ...(patch.maxActive !== undefined ? { max_active: patch.maxActive } : {}),
      ...(patch.paused !== undefined ? { paused: patch.paused } : {}),
      updated_at: new Date(this.clock.now()),
    }
    await this.db
      .insertInto('queue_settings')
      .values({ concert_id: concertId, ...values })
      .onConflict((oc) => oc.column('concert_id').doUpdateSet(values))
      .execute()
    await this.refresh()
    return this.config(concertId)
  }
}

export function toLimits(c: EffectiveQueueConfig): AdmissionLimits {
  return {
    strategy: c.strategy,
    admitPerTick: c.admitPerTick,
    tickMs: c.tickMs,
    maxActive: c.maxActive,
    paused: c.paused,
    activeIdleMs: c.activeIdleS * 1000,
    activeMaxMs: c.activeMaxS * 1000,
    waitingIdleMs: c.waitingIdleS * 1000,
  }
}
