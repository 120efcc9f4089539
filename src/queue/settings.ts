import type { Kysely } from 'kysely'
import { type Static, Type } from 'typebox'
import type { Clock } from '../platform/clock.js'

const QueueStrategySchema = Type.Union([Type.Literal('rate'), Type.Literal('cap'), Type.Literal('hybrid')])

/**
 * The settings of one concert's queue: the deployment's defaults (environment), with the
 * operators' live changes on top. The one shape of queue settings, in the API and in the code.
 */
export const QueueSettingsSchema = Type.Object({
  strategy: QueueStrategySchema,
  admitPerTick: Type.Integer({ minimum: 1, maximum: 100_000 }),
  tickMs: Type.Integer({ minimum: 50, maximum: 3_600_000 }),
  maxActive: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
  paused: Type.Boolean(),
  activeIdleS: Type.Integer({ minimum: 1, maximum: 86_400 }),
  activeMaxS: Type.Integer({ minimum: 1, maximum: 86_400 }),
  waitingIdleS: Type.Integer({ minimum: 1, maximum: 86_400 }),
})
export type QueueSettings = Static<typeof QueueSettingsSchema>

/** What an operator may change live, per concert. */
export const QueueSettingsPatchSchema = Type.Partial(
  Type.Pick(QueueSettingsSchema, ['strategy', 'admitPerTick', 'tickMs', 'maxActive', 'paused']),
  { additionalProperties: false, minProperties: 1 },
)
export type QueueSettingsPatch = Static<typeof QueueSettingsPatchSchema>

interface QueueSettingsTable {
  concert_id: string
  /** The operators' changes, as a QueueSettingsPatch. */
  patch: QueueSettingsPatch
  updated_at: Date
}

export interface QueueSettingsTables {
  queue_settings: QueueSettingsTable
}

/** How often a process re-reads the operators' changes at most, and at least once a tick. */
const MAX_REFRESH_MS = 1000

/**
 * The deployment's queue settings with the operators' per-concert changes, kept in the database
 * and re-read by every process at least once a tick, so a change reaches all of them.
 */
export class QueueSettingsService {
  #patches = new Map<string, QueueSettingsPatch>()
  /** Effective settings per concert, rebuilt after each refresh: the hot paths only look up. */
  #effective = new Map<string, QueueSettings>()
  #loadedAt = Number.NEGATIVE_INFINITY
  #loading: Promise<void> | undefined

  constructor(
    private readonly db: Kysely<QueueSettingsTables>,
    private readonly defaults: QueueSettings,
    private readonly clock: Clock,
  ) {}

  /** The shortest tick of any concert: how often the changes must be re-read. */
  get refreshMs(): number {
    let ms = Math.min(MAX_REFRESH_MS, this.defaults.tickMs)
    for (const p of this.#patches.values()) if (p.tickMs) ms = Math.min(ms, p.tickMs)
    return ms
  }

  /**
   * A concert's settings now. Only the first call waits for the database; later ones answer from
   * what was last read and re-read it behind, so a database outage leaves the queue on the last
   * settings it knew.
   */
  async of(concertId: string): Promise<QueueSettings> {
    if (this.#loadedAt === Number.NEGATIVE_INFINITY) await this.refresh()
    else if (this.clock.now() - this.#loadedAt >= this.refreshMs) this.refresh().catch(() => undefined)
    let effective = this.#effective.get(concertId)
    if (!effective) {
      effective = { ...this.defaults, ...this.#patches.get(concertId) }
      this.#effective.set(concertId, effective)
    }
    return effective
  }

  /** Re-reads every change (single flight); on failure the last settings read stay in force. */
  refresh(): Promise<void> {
    this.#loading ??= this.db
      .selectFrom('queue_settings')
      .select(['concert_id', 'patch'])
      .execute()
      .then((rows) => {
        this.#patches = new Map(rows.map((r) => [r.concert_id, r.patch]))
        this.#effective = new Map()
        this.#loadedAt = this.clock.now()
      })
      .finally(() => (this.#loading = undefined))
    return this.#loading
  }

  async update(concertId: string, patch: QueueSettingsPatch): Promise<QueueSettings> {
    const updatedAt = new Date(this.clock.now())
    const json = JSON.stringify(patch)
    await this.db
      .insertInto('queue_settings')
      .values({ concert_id: concertId, patch: json as never, updated_at: updatedAt })
      .onConflict((oc) =>
        oc.column('concert_id').doUpdateSet((eb) => ({
          patch: eb.fn<QueueSettingsPatch>('jsonb_concat', [eb.ref('queue_settings.patch'), eb.ref('excluded.patch')]),
          updated_at: updatedAt,
        })),
      )
      .execute()
    await this.refresh()
    return this.of(concertId)
  }
}

/** Admissions per tick (-1: no limit) and most active at once (-1: no limit), as the strategy says. */
export function admissionBounds(s: QueueSettings): { perTick: number; cap: number } {
  if (s.paused) return { perTick: 0, cap: -1 }
  switch (s.strategy) {
    case 'rate':
      return { perTick: s.admitPerTick, cap: -1 }
    case 'cap':
      return { perTick: -1, cap: s.maxActive }
    case 'hybrid':
      return { perTick: s.admitPerTick, cap: s.maxActive }
  }
}

/** Whether a freed slot is handed to the next in line at once (cap), rather than at the next tick. */
export const promotesOnFree = (s: QueueSettings) => !s.paused && s.strategy === 'cap'
