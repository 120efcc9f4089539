import type { Cache } from '../platform/cache/cache.js'
import type { Clock } from '../platform/clock.js'
import { inTransaction, type Tx } from '../platform/db/database.js'
import { badRequest, notFound } from '../platform/errors.js'
import { newId } from '../platform/ids.js'
import type { CatalogRepository, Concert, JoinChallenge, ScheduleLayout, Section } from './repository.js'

export const MAX_SEATS_PER_SCHEDULE = 100_000

export interface NewConcert {
  title: string
  performer: string
  venue: string
  queueOpensAt?: Date
  saleOpensAt?: Date
  joinChallenge?: JoinChallenge
  maxTicketsPerUser?: number
}

export type ConcertChanges = Partial<NewConcert>

export interface NewSchedule {
  startsAt: Date
  sections: Omit<Section, 'firstSeatNo'>[]
}

export interface ScheduleSummary {
  scheduleId: string
  startsAt: Date
  totalSeats: number
}

/** Where a new schedule's seats are made (the reservation component, wired in by the app). */
export interface SeatInventory {
  /** Creates every seat of a new schedule, in the caller's transaction. */
  createSeats(scheduleId: string, totalSeats: number, trx: Tx): Promise<void>
}

/** Whether a concert has any seat left to sell (the reservation component, wired in by the app). */
export type SoldOut = (concertId: string) => Promise<boolean>

export interface ListedConcert extends Concert {
  soldOut: boolean
}

export interface SeatPlace {
  section: Section
  row: number
}

/** Where a seat number is: its section and its row (1-based), or undefined beyond the map. */
export function locateSeat(layout: ScheduleLayout, seatNo: number): SeatPlace | undefined {
  if (!Number.isInteger(seatNo) || seatNo < 1 || seatNo > layout.totalSeats) return undefined
  let lo = 0
  let hi = layout.sections.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (layout.sections[mid]!.firstSeatNo <= seatNo) lo = mid
    else hi = mid - 1
  }
  const section = layout.sections[lo]!
  return { section, row: Math.floor((seatNo - section.firstSeatNo) / section.seatsPerRow) + 1 }
}

const LAYOUT_TTL_MS = 10 * 60_000
const CONCERT_TTL_MS = 30_000
const CONCERTS_TTL_MS = 5000
const SCHEDULES_TTL_MS = 30_000

/** The catalog's cache keys: only this component reads or invalidates them. */
const keys = {
  concerts: 'concerts',
  concert: (concertId: string) => `concert:${concertId}`,
  schedules: (concertId: string) => `schedules:${concertId}`,
  layout: (scheduleId: string) => `layout:${scheduleId}`,
}

function assertOpeningOrder(queueOpensAt: Date | null, saleOpensAt: Date | null) {
  if (queueOpensAt && saleOpensAt && queueOpensAt > saleOpensAt) throw badRequest('queueOpensAt', 'must not be later than saleOpensAt')
}

/** A concert as the cache keeps it: JSON, with times as ISO strings. */
type StoredConcert = Omit<Concert, 'queueOpensAt' | 'saleOpensAt'> & { queueOpensAt: string | null; saleOpensAt: string | null }
const storeConcert = (c: Concert): StoredConcert => ({
  ...c,
  queueOpensAt: c.queueOpensAt?.toISOString() ?? null,
  saleOpensAt: c.saleOpensAt?.toISOString() ?? null,
})
const loadConcert = (c: StoredConcert): Concert => ({
  ...c,
  queueOpensAt: c.queueOpensAt === null ? null : new Date(c.queueOpensAt),
  saleOpensAt: c.saleOpensAt === null ? null : new Date(c.saleOpensAt),
})

/** Concerts, their dates and seat maps. Reads are cached; writes invalidate. */
export class CatalogService {
  /** Each cached list of dates with its times read back as Dates, once per list rather than per call. */
  readonly #parsedSchedules = new WeakMap<object, ScheduleSummary[]>()

  constructor(
    private readonly repository: CatalogRepository,
    private readonly seats: SeatInventory,
    private readonly soldOut: SoldOut,
    private readonly clock: Clock,
    /** Shared across processes (Redis) when configured: concerts, schedule lists. */
    private readonly cache: Cache,
    /** This process only: seat-map layouts, which never change once created. */
    private readonly local: Cache,
  ) {}

  async layout(scheduleId: string): Promise<ScheduleLayout | undefined> {
    const layout = await this.local.get(keys.layout(scheduleId), LAYOUT_TTL_MS, () => this.repository.layout(scheduleId))
    // An unknown id is not remembered: the schedule may be created the next moment.
    if (!layout) await this.local.invalidate(keys.layout(scheduleId))
    return layout
  }

  async concert(concertId: string): Promise<Concert | undefined> {
    const stored = await this.cache.get(keys.concert(concertId), CONCERT_TTL_MS, async () => {
      const concert = await this.repository.concert(concertId)
      return concert ? storeConcert(concert) : null
    })
    return stored ? loadConcert(stored) : undefined
  }

  async concerts(): Promise<Concert[]> {
    const stored = await this.cache.get(keys.concerts, CONCERTS_TTL_MS, async () => (await this.repository.concerts()).map(storeConcert))
    return stored.map(loadConcert)
  }

  /** The concerts a fan sees, each marked when every seat of every date is sold. */
  async listed(): Promise<ListedConcert[]> {
    const concerts = await this.concerts()
    return Promise.all(concerts.map(async (c) => ({ ...c, soldOut: await this.soldOut(c.concertId) })))
  }

  /** The dates of a concert that have not started. */
  async upcomingSchedules(concertId: string): Promise<ScheduleSummary[]> {
    const now = this.clock.now()
    const stored = await this.cache.get(keys.schedules(concertId), SCHEDULES_TTL_MS, async () =>
      (await this.repository.upcomingSchedules(concertId, new Date(now))).map((s) => ({ ...s, startsAt: s.startsAt.toISOString() })),
    )
    let parsed = this.#parsedSchedules.get(stored)
    if (!parsed) {
      parsed = stored.map((s) => ({ ...s, startsAt: new Date(s.startsAt) }))
      this.#parsedSchedules.set(stored, parsed)
    }
    return parsed.filter((s) => s.startsAt.getTime() > now)
  }

  /**
   * Given only one of the two opening times, the other takes its value: a sale time alone means
   * the line forms when the sale opens, with no pre-queue.
   */
  async createConcert(input: NewConcert, db?: Tx): Promise<Concert> {
    const queueOpensAt = input.queueOpensAt ?? input.saleOpensAt ?? null
    const saleOpensAt = input.saleOpensAt ?? input.queueOpensAt ?? null
    assertOpeningOrder(queueOpensAt, saleOpensAt)
    const now = new Date(this.clock.now())
    const concert = await this.repository.insertConcert(
      {
        id: newId('con', now.getTime()),
        title: input.title,
        performer: input.performer,
        venue: input.venue,
        queue_opens_at: queueOpensAt,
        sale_opens_at: saleOpensAt,
        join_challenge: input.joinChallenge ?? 'none',
        max_tickets_per_user: input.maxTicketsPerUser ?? null,
        created_at: now,
      },
      db,
    )
    await this.cache.invalidate(keys.concerts, keys.concert(concert.concertId))
    return concert
  }

  /** Changes a concert (404 if there is none); the opening times keep their order. */
  async updateConcert(concertId: string, changes: ConcertChanges): Promise<Concert> {
    const current = await this.repository.concert(concertId)
    if (!current) throw notFound('concert')
    assertOpeningOrder(changes.queueOpensAt ?? current.queueOpensAt, changes.saleOpensAt ?? current.saleOpensAt)
    const updated = await this.repository.updateConcert(concertId, {
      title: changes.title,
      performer: changes.performer,
      venue: changes.venue,
      queue_opens_at: changes.queueOpensAt,
      sale_opens_at: changes.saleOpensAt,
      join_challenge: changes.joinChallenge,
      max_tickets_per_user: changes.maxTicketsPerUser,
    })
    await this.cache.invalidate(keys.concerts, keys.concert(concertId))
    return updated!
  }

  /**
   * Creates a date with its seat map and every seat, in one transaction (the caller's, if any).
   * The seats come from one statement, so a 60,000-seat stadium is not 60,000 inserts.
   */
  async createSchedule(concertId: string, input: NewSchedule, db?: Tx): Promise<{ scheduleId: string; totalSeats: number }> {
    const now = this.clock.now()
    if (input.startsAt.getTime() <= now) throw badRequest('startsAt', 'must be in the future')
    const names = new Set(input.sections.map((s) => s.name))
    if (names.size !== input.sections.length) throw badRequest('sections', 'section names must be unique')
    let firstSeatNo = 1
    const sections = input.sections.map((s) => {
      const section = { ...s, firstSeatNo }
      firstSeatNo += s.rows * s.seatsPerRow
      return section
    })
    const totalSeats = firstSeatNo - 1
    if (totalSeats > MAX_SEATS_PER_SCHEDULE) {
      throw badRequest('sections', `a schedule has at most ${MAX_SEATS_PER_SCHEDULE} seats (these sections have ${totalSeats})`)
    }
    const layout: ScheduleLayout = { scheduleId: newId('sch', now), concertId, startsAt: input.startsAt, totalSeats, sections }
    await inTransaction(db ?? this.repository.db, async (trx) => {
      if (!(await this.repository.concert(concertId, trx))) throw notFound('concert')
      await this.repository.insertSchedule(layout, new Date(now), trx)
      await this.seats.createSeats(layout.scheduleId, totalSeats, trx)
    })
    await this.cache.invalidate(keys.schedules(concertId))
    return { scheduleId: layout.scheduleId, totalSeats }
  }
}
