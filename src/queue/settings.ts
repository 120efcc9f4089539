import { type Kysely, sql } from 'kysely'
import { type Static, Type } from 'typebox'
import { recordEvent } from '../events/outbox.js'
import type { Clock } from '../platform/clock.js'
import { badRequest } from '../platform/errors.js'
import { SingleFlight } from '../platform/single-flight.js'

const QueueStrategySchema = Type.Union([Type.Literal('rate'), Type.Literal('cap'), Type.Literal('hybrid')])

const AdmitPerTick = Type.Integer({ minimum: 1, maximum: 100_000 })

/**
 * Adaptive admission (docs/queue.md#adaptive-admission): while enabled, the admission loop sets
 * `admitPerTick` itself, between the two bounds, by the p90 latency and the errors of the
 * concert's holds and payments.
 */
const AdaptiveSettingsSchema = Type.Object(
  {
    enabled: Type.Boolean(),
    minAdmitPerTick: AdmitPerTick,
    maxAdmitPerTick: AdmitPerTick,
    targetLatencyMs: Type.Integer({ minimum: 1, maximum: 60_000, description: 'the p90 latency of holds and payments to steer to' }),
  },
  { additionalProperties: false },
)

/**
 * The settings of one concert's queue: the deployment's defaults (environment), with the
 * operators' live changes on top. The one shape of queue settings, in the API and in the code.
 */
export const QueueSettingsSchema = Type.Object({
  strategy: QueueStrategySchema,
  admitPerTick: AdmitPerTick,
  tickMs: Type.Integer({ minimum: 50, maximum: 3_600_000 }),
  maxActive: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
  paused: Type.Boolean(),
  activeIdleS: Type.Integer({ minimum: 1, maximum: 86_400 }),
  activeMaxS: Type.Integer({ minimum: 1, maximum: 86_400 }),
  waitingIdleS: Type.Integer({ minimum: 1, maximum: 86_400 }),
  adaptive: AdaptiveSettingsSchema,
})
export type QueueSettings = Static<typeof QueueSettingsSchema>

/** What an operator may change live, per concert; `adaptive` is merged over its current fields. */
export const QueueSettingsPatchSchema = Type.Partial(
  Type.Object({
    ...Type.Pick(QueueSettingsSchema, ['strategy', 'admitPerTick', 'tickMs', 'maxActive', 'paused']).properties,
    adaptive: Type.Partial(AdaptiveSettingsSchema, { additionalProperties: false, minProperties: 1 }),
  }),
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

/** The PostgreSQL channel a change is announced on as it commits, with the concert's id. */
export const SETTINGS_CHANGED_CHANNEL = 'queue_settings_changed'

/**
 * The deployment's queue settings with the operators' per-concert changes, kept in the database
 * and re-read by every process at least once a tick, so a change reaches all of them. On
 * PostgreSQL each change is also announced as it commits (SETTINGS_CHANGED_CHANNEL): a process
 * that listens (`changed`) reads it at once, and what it derived from the settings, such as the
 * wait estimates, follows the new rate from the next answer rather than a tick later.
 */
export class QueueSettingsService {
  readonly #listeners: ((concertId: string | undefined) => void)[] = []
  #patches = new Map<string, QueueSettingsPatch>()
  /** Effective settings per concert, rebuilt after each refresh: the hot paths only look up. */
  #effective = new Map<string, QueueSettings>()
  #loadedAt = Number.NEGATIVE_INFINITY
  readonly #loading = new SingleFlight<void>(1)

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
      effective = this.merged(this.#patches.get(concertId))
      this.#effective.set(concertId, effective)
    }
    return effective
  }

  /** The defaults with a concert's changes over them, `adaptive` field by field. */
  private merged(patch: QueueSettingsPatch | undefined): QueueSettings {
    return { ...this.defaults, ...patch, adaptive: { ...this.defaults.adaptive, ...patch?.adaptive } }
  }

  /** Hears of every announced change once it is read (`changed`), this process's own included (`concertId` undefined: any). */
  onChange(listener: (concertId: string | undefined) => void): void {
    this.#listeners.push(listener)
  }

  /**
   * A change was announced (a concert's, or undefined: any may have been missed while not
   * listening): read the settings again, then tell the listeners. A read already under way may
   * have begun before the change committed, so once it is done a second one follows.
   */
  async changed(concertId?: string): Promise<void> {
    await this.refresh().catch(() => undefined)
    await this.refresh().catch(() => undefined)
    for (const listener of this.#listeners) listener(concertId)
  }

  /** Re-reads every change once the last read is `refreshMs` old: what a tick needs, and no more often. */
  async refreshWhenDue(): Promise<void> {
    if (this.clock.now() - this.#loadedAt >= this.refreshMs) await this.refresh()
  }

  /** Re-reads every change (single flight); on failure the last settings read stay in force. */
  refresh(): Promise<void> {
    return this.#loading.run('settings', async (current) => {
      const rows = await this.db.selectFrom('queue_settings').select(['concert_id', 'patch']).execute()
      // A read overtaken by a change (update) leaves the settings to the read that change starts.
      if (!current() && this.#loadedAt !== Number.NEGATIVE_INFINITY) return
      this.#patches = new Map(rows.map((r) => [r.concert_id, r.patch]))
      this.#effective = new Map()
      this.#loadedAt = this.clock.now()
    })
  }

  /**
   * Writes a change over the concert's earlier ones (sql/queue_settings_merge.sql). A change that
   * would leave the adaptive bounds crossed is refused (400) and writes nothing.
   */
  async update(concertId: string, patch: QueueSettingsPatch): Promise<QueueSettings> {
    const updatedAt = new Date(this.clock.now())
    const json = JSON.stringify(patch)
    await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('queue_settings')
        .values({ concert_id: concertId, patch: json as never, updated_at: updatedAt })
        .onConflict((oc) =>
          oc.column('concert_id').doUpdateSet({
            patch: sql<QueueSettingsPatch>`queue_settings_merge(queue_settings.patch, excluded.patch)`,
            updated_at: updatedAt,
          }),
        )
        .returning('patch')
        .executeTakeFirstOrThrow()
      const { minAdmitPerTick, maxAdmitPerTick } = this.merged(row.patch).adaptive
      if (minAdmitPerTick > maxAdmitPerTick) {
        throw badRequest('adaptive', `minAdmitPerTick (${minAdmitPerTick}) must not be above maxAdmitPerTick (${maxAdmitPerTick})`)
      }
      await recordEvent(trx, 'queue.settings_changed', { concertId, ...this.merged(row.patch) }, updatedAt)
      await sql`select pg_notify(${SETTINGS_CHANGED_CHANNEL}, ${concertId})`.execute(trx)
    })
    // A read that started before this write must not answer for it.
    this.#loading.invalidate('settings')
    await this.refresh()
    return this.of(concertId)
  }
}

/**
 * Admissions per tick (-1: no limit) and most active at once (-1: no limit), as the strategy says,
 * and never more fans active at once than `seatsLeft`, the seats still to sell: with none, nobody
 * is admitted; when seats come back (a refund, a hold that ends), as many fans as there are seats.
 */
export function admissionBounds(s: QueueSettings, seatsLeft = Number.POSITIVE_INFINITY): { perTick: number; cap: number } {
  if (s.paused || seatsLeft <= 0) return { perTick: 0, cap: -1 }
  const { perTick, cap } = strategyBounds(s)
  if (seatsLeft === Number.POSITIVE_INFINITY) return { perTick, cap }
  return { perTick, cap: cap < 0 ? seatsLeft : Math.min(cap, seatsLeft) }
}

function strategyBounds(s: QueueSettings): { perTick: number; cap: number } {
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
