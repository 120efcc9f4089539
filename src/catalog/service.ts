import { recordEvent } from '../events/outbox.js'
import type { Inventory } from '../inventory/service.js'
import type { Cache } from '../platform/cache/cache.js'
import type { Clock } from '../platform/clock.js'
import { inTransaction, type Tx } from '../platform/db/database.js'
import { badRequest, notFound } from '../platform/errors.js'
import { newId } from '../platform/ids.js'
import type { CatalogRepository, Concert, JoinChallenge, RefundPolicy, ScheduleLayout, ScheduleState, Section } from './repository.js'

export const MAX_SEATS_PER_SCHEDULE = 100_000

export interface NewConcert {
  title: string
  performer: string
  venue: string
  queueOpensAt?: Date
  /** Admission starts here, and joining needs a presale code until saleOpensAt; null: no presale. */
  presaleOpensAt?: Date | null
  saleOpensAt?: Date
  joinChallenge?: JoinChallenge
  maxTicketsPerUser?: number
  refundPolicy?: RefundPolicy | null
}

export type ConcertChanges = Partial<NewConcert>

export interface NewSchedule {
  startsAt: Date
  sections: Omit<Section, 'firstSeatNo'>[]
}

/** Where a new schedule's seats are made (the reservation component, wired in by the app). */
export interface SeatInventory {
  /** Creates every seat of a new schedule, in the caller's transaction. */
  createSeats(scheduleId: string, totalSeats: number, trx: Tx): Promise<void>
}

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

/** The catalog's cache keys: only this component reads or invalidates them. */
const keys = {
  concerts: 'concerts',
  concert: (concertId: string) => `concert:${concertId}`,
  layout: (scheduleId: string) => `layout:${scheduleId}`,
}

interface Openings {
  queueOpensAt: Date | null
  presaleOpensAt: Date | null
  saleOpensAt: Date | null
}

/** The line opens first, then the presale (if any), then the sale: `queueOpensAt ≤ presaleOpensAt < saleOpensAt`. */
function assertOpeningOrder({ queueOpensAt, presaleOpensAt, saleOpensAt }: Openings) {
  if (queueOpensAt && saleOpensAt && queueOpensAt > saleOpensAt) throw badRequest('queueOpensAt', 'must not be later than saleOpensAt')
  if (!presaleOpensAt) return
  if (!saleOpensAt) throw badRequest('presaleOpensAt', 'needs saleOpensAt: the presale ends when the sale opens')
  if (presaleOpensAt >= saleOpensAt) {
    throw badRequest('presaleOpensAt', `must be earlier than saleOpensAt (${saleOpensAt.toISOString()})`)
  }
  if (queueOpensAt && presaleOpensAt < queueOpensAt) {
    throw badRequest('presaleOpensAt', `must not be earlier than queueOpensAt (${queueOpensAt.toISOString()})`)
  }
}

const iso = (d: Date | null) => d?.toISOString() ?? null
const dateOf = (text: string | null | undefined) => (text == null ? null : new Date(text))

/** A concert as the API shows it, with its own ticket cap (null: the deployment's default). */
export const concertData = (c: Concert) => ({
  concertId: c.concertId,
  title: c.title,
  performer: c.performer,
  venue: c.venue,
  queueOpensAt: iso(c.queueOpensAt),
  presaleOpensAt: iso(c.presaleOpensAt),
  saleOpensAt: iso(c.saleOpensAt),
  joinChallenge: c.joinChallenge,
  maxTicketsPerUser: c.maxTicketsPerUser,
  refundPolicy: c.refundPolicy,
})

type Times = 'queueOpensAt' | 'presaleOpensAt' | 'saleOpensAt'
/**
 * A concert as the cache keeps it: JSON, with times as ISO strings. One kept before concerts had
 * a presale has no presaleOpensAt: it has no presale.
 */
type StoredConcert = Omit<Concert, Times> & { queueOpensAt: string | null; presaleOpensAt?: string | null; saleOpensAt: string | null }
const storeConcert = (c: Concert): StoredConcert => ({
  ...c,
  queueOpensAt: iso(c.queueOpensAt),
  presaleOpensAt: iso(c.presaleOpensAt),
  saleOpensAt: iso(c.saleOpensAt),
})
const loadConcert = (c: StoredConcert): Concert => ({
  ...c,
  queueOpensAt: dateOf(c.queueOpensAt),
  presaleOpensAt: dateOf(c.presaleOpensAt),
  saleOpensAt: dateOf(c.saleOpensAt),
})

/** What the catalog is built from. */
export interface CatalogParts {
  repository: CatalogRepository
  seats: SeatInventory
  /** What is left to sell: the sold-out marks of the list, told of every new date. */
  inventory: Inventory
  clock: Clock
  /** Shared across processes (Redis) when configured: concerts. */
  shared: Cache
  /** This process only: seat-map layouts, which never change once created. */
  local: Cache
}

/** Concerts, their dates and seat maps. Reads are cached; writes invalidate. */
export class CatalogService {
  private readonly repository: CatalogRepository
  private readonly seats: SeatInventory
  private readonly inventory: Inventory
  private readonly clock: Clock
  private readonly cache: Cache
  private readonly local: Cache

  constructor(parts: CatalogParts) {
    this.repository = parts.repository
    this.seats = parts.seats
    this.inventory = parts.inventory
    this.clock = parts.clock
    this.cache = parts.shared
    this.local = parts.local
  }

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
    return Promise.all(concerts.map(async (c) => ({ ...c, soldOut: await this.inventory.soldOut(c.concertId) })))
  }

  /**
   * Given only one of the line's and the sale's opening times, the other takes its value: a sale
   * time alone means the line forms when the sale opens, with no pre-queue. A presale without a
   * line's opening time opens the line with it; a presale needs a sale time, which it ends at.
   */
  async createConcert(input: NewConcert, db?: Tx): Promise<Concert> {
    const presaleOpensAt = input.presaleOpensAt ?? null
    const queueOpensAt = input.queueOpensAt ?? presaleOpensAt ?? input.saleOpensAt ?? null
    const saleOpensAt = input.saleOpensAt ?? (presaleOpensAt ? null : input.queueOpensAt) ?? null
    assertOpeningOrder({ queueOpensAt, presaleOpensAt, saleOpensAt })
    const now = new Date(this.clock.now())
    const concert = await inTransaction(db ?? this.repository.db, async (trx) => {
      const created = await this.repository.insertConcert(
        {
          id: newId('con', now.getTime()),
          title: input.title,
          performer: input.performer,
          venue: input.venue,
          queue_opens_at: queueOpensAt,
          presale_opens_at: presaleOpensAt,
          sale_opens_at: saleOpensAt,
          join_challenge: input.joinChallenge ?? 'none',
          max_tickets_per_user: input.maxTicketsPerUser ?? null,
          refund_policy: input.refundPolicy ?? null,
          created_at: now,
        },
        trx,
      )
      await recordEvent(trx, 'concert.created', concertData(created), now)
      return created
    })
    await this.cache.invalidate(keys.concerts, keys.concert(concert.concertId))
    return concert
  }

  /** Changes a concert (404 if there is none); the opening times keep their order. A presale time of null ends the presale. */
  async updateConcert(concertId: string, changes: ConcertChanges): Promise<Concert> {
    const current = await this.repository.concert(concertId)
    if (!current) throw notFound('concert')
    assertOpeningOrder({
      queueOpensAt: changes.queueOpensAt ?? current.queueOpensAt,
      presaleOpensAt: changes.presaleOpensAt === undefined ? current.presaleOpensAt : changes.presaleOpensAt,
      saleOpensAt: changes.saleOpensAt ?? current.saleOpensAt,
    })
    const updated = await inTransaction(this.repository.db, async (trx) => {
      const concert = await this.repository.updateConcert(
        concertId,
        {
          title: changes.title,
          performer: changes.performer,
          venue: changes.venue,
          queue_opens_at: changes.queueOpensAt,
          presale_opens_at: changes.presaleOpensAt,
          sale_opens_at: changes.saleOpensAt,
          join_challenge: changes.joinChallenge,
          max_tickets_per_user: changes.maxTicketsPerUser,
          refund_policy: changes.refundPolicy,
        },
        trx,
      )
      if (concert) await recordEvent(trx, 'concert.updated', concertData(concert), new Date(this.clock.now()))
      return concert
    })
    await this.cache.invalidate(keys.concerts, keys.concert(concertId))
    return updated!
  }

  /** A date's state (on sale, cancelling, cancelled); undefined if there is no such date. */
  scheduleState(scheduleId: string, db?: Tx): Promise<ScheduleState | undefined> {
    return this.repository.scheduleState(scheduleId, db)
  }

  /**
   * Closes a date on sale for good, in the caller's transaction: no hold or payment is taken on it
   * from the commit on, and it leaves the fans' list of dates (call `datesChanged` after the
   * commit). Writes schedule.cancelled. False if the date was not on sale.
   */
  async closeSchedule(state: ScheduleState, now: Date, trx: Tx): Promise<boolean> {
    if (!(await this.repository.markCancelling(state.scheduleId, now, trx))) return false
    const { scheduleId, concertId, startsAt } = state
    await recordEvent(trx, 'schedule.cancelled', { scheduleId, concertId, startsAt: startsAt.toISOString() }, now)
    return true
  }

  /** The concert's dates that are cancelled (or cancelling) and have not started, for operators. */
  cancelledSchedules(concertId: string) {
    return this.repository.cancelledSchedules(concertId, new Date(this.clock.now()))
  }

  /** A cancelling date whose refunds are done becomes CANCELLED. */
  markCancelled(scheduleId: string, now: Date): Promise<void> {
    return this.repository.markCancelled(scheduleId, now)
  }

  /** The concert's dates changed (one was cancelled): fans' lists read them again. */
  datesChanged(concertId: string): Promise<void> {
    return this.inventory.datesChanged(concertId)
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
      const schedule = { scheduleId: layout.scheduleId, concertId, startsAt: input.startsAt.toISOString(), totalSeats }
      await recordEvent(trx, 'schedule.created', schedule, new Date(now))
    })
    await this.inventory.datesChanged(concertId)
    return { scheduleId: layout.scheduleId, totalSeats }
  }
}
