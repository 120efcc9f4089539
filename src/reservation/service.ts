import type { ScheduleLayout } from '../catalog/repository.js'
import { type CatalogService, locateSeat } from '../catalog/service.js'
import type { IdempotencyService } from '../idempotency/service.js'
import type { Cache } from '../platform/cache/cache.js'
import type { Clock } from '../platform/clock.js'
import { AppError, badRequest, notFound } from '../platform/errors.js'
import { newId } from '../platform/ids.js'
import type { Metrics } from '../platform/metrics.js'
import type { Admission } from '../queue/gate.js'
import type { QueueService } from '../queue/service.js'
import type { HoldOutcome, Reservation, ReservationRepository } from './repository.js'

export interface SeatView {
  seatNo: number
  section: string
  row: number
  price: number
  status: 'AVAILABLE' | 'HELD' | 'SOLD'
}

export interface SeatMap {
  layout: ScheduleLayout
  held: number[]
  sold: number[]
}

export interface BookableDate {
  scheduleId: string
  startsAt: Date
  availableSeats: number
  totalSeats: number
}

export interface ReservationSettings {
  holdTtlS: number
  holdMaxPerUser: number
  ticketsPerUser: number
}

export interface Inventory {
  availableSeats: number
  soldOut: boolean
}

/** Seat maps and free-seat counts move with every hold: another process may show them up to 1 s old. */
const SEATS_TTL_MS = 1000

/**
 * The reservation component's cache keys: only this component reads or invalidates them. A new
 * schedule needs no invalidation: a date missing from a cached count has no seat taken.
 */
const keys = {
  seatMap: (scheduleId: string) => `seats:${scheduleId}`,
  taken: (concertId: string) => `taken:${concertId}`,
}

const holdRefusals: Record<Exclude<HoldOutcome, 'HELD'>, (s: ReservationSettings, seatNo: number, maxTickets: number) => AppError> = {
  HOLD_LIMIT_REACHED: (s) => new AppError('HOLD_LIMIT_REACHED', `at most ${s.holdMaxPerUser} live holds per user on one date`),
  TICKET_LIMIT: (_, __, maxTickets) =>
    new AppError('TICKET_LIMIT', `at most ${maxTickets} seats per fan for this concert, held or paid, all dates together`, {
      maxTicketsPerUser: maxTickets,
    }),
  SEAT_UNAVAILABLE: (_, seatNo) => new AppError('SEAT_UNAVAILABLE', `seat ${seatNo} is held or sold`),
}

/**
 * Seats and holds: the booking flow behind the queue's gate. A seat row is the lock point: taking
 * a hold is one conditional update that also treats a hold past its deadline as free, so no
 * sweeper is needed for correctness.
 */
export class ReservationService {
  constructor(
    private readonly repository: ReservationRepository,
    private readonly catalog: CatalogService,
    private readonly queue: QueueService,
    private readonly idempotency: IdempotencyService,
    private readonly clock: Clock,
    private readonly settings: ReservationSettings,
    private readonly cache: Cache,
    private readonly metrics: Metrics,
  ) {}

  /** The bookable dates of a concert with their free seats (gated). */
  async dates(admission: Admission, concertId: string): Promise<BookableDate[]> {
    const concert = await this.catalog.concert(concertId)
    await this.queue.admit(admission.claims, admission.userId, concert?.concertId)
    return (await this.bookableDates(concertId)).map(({ soldSeats: _, ...date }) => date)
  }

  /** The same dates for operators, without the gate: an unknown concert is 404. */
  async datesForOperators(concertId: string): Promise<BookableDate[]> {
    if (!(await this.catalog.concert(concertId))) throw notFound('concert')
    return (await this.bookableDates(concertId)).map(({ soldSeats: _, ...date }) => date)
  }

  /**
   * What is left of a concert, all bookable dates together: the seats neither held nor sold, and
   * whether every seat is sold. At most 1 s old, so the queue may read it on every poll.
   */
  async inventory(concertId: string): Promise<Inventory> {
    let total = 0
    let available = 0
    let sold = 0
    for (const date of await this.bookableDates(concertId)) {
      total += date.totalSeats
      available += date.availableSeats
      sold += date.soldSeats
    }
    return { availableSeats: available, soldOut: total > 0 && sold === total }
  }

  private async bookableDates(concertId: string): Promise<(BookableDate & { soldSeats: number })[]> {
    const schedules = await this.catalog.upcomingSchedules(concertId)
    const now = new Date(this.clock.now())
    const counts = await this.cache.get(keys.taken(concertId), SEATS_TTL_MS, () =>
      this.repository.seatCounts(
        schedules.map((s) => s.scheduleId),
        now,
      ),
    )
    return schedules.map((s) => {
      const { taken, sold } = counts[s.scheduleId] ?? { taken: 0, sold: 0 }
      return { availableSeats: s.totalSeats - taken, soldSeats: sold, ...s }
    })
  }

  /**
   * The seats of a date that are held (live) or sold; every other seat is available (gated).
   * Cached for 1 s: a stale map may show a taken seat as free, but taking it is always decided by
   * the seat row.
   */
  async seatMap(admission: Admission, scheduleId: string): Promise<SeatMap> {
    const layout = await this.catalog.layout(scheduleId)
    await this.queue.admit(admission.claims, admission.userId, layout?.concertId)
    const taken = await this.cache.get(keys.seatMap(scheduleId), SEATS_TTL_MS, () =>
      this.repository.takenSeats(scheduleId, new Date(this.clock.now())),
    )
    return { layout: layout!, ...taken }
  }

  /**
   * Holds a seat for HOLD_TTL_S (gated). With an Idempotency-Key, a retry replays the first
   * answer (the hold, or its 409 refusal) and takes no second seat.
   */
  async hold(admission: Admission, scheduleId: string, seatNo: number, idempotencyKey?: string): Promise<Reservation> {
    const layout = await this.catalog.layout(scheduleId)
    await this.queue.admit(admission.claims, admission.userId, layout?.concertId)
    const place = locateSeat(layout!, seatNo)
    if (!place) throw badRequest('seatNo', `must be a seat of this schedule, from 1 to ${layout!.totalSeats}`)
    const maxTickets = (await this.catalog.concert(layout!.concertId))?.maxTicketsPerUser ?? this.settings.ticketsPerUser
    const held = await this.idempotency.run(admission.userId, 'reservations', idempotencyKey, { scheduleId, seatNo }, async (trx) => {
      // Counted per attempt that reached the seat: HELD, or the refusal's code.
      const now = this.clock.now()
      if (layout!.startsAt.getTime() <= now) throw new AppError('SCHEDULE_CLOSED', 'this date has already started')
      const hold = {
        reservationId: newId('rsv', now),
        userId: admission.userId,
        concertId: layout!.concertId,
        scheduleId,
        seatNo,
        price: place.section.price,
        now: new Date(now),
        heldUntil: new Date(now + this.settings.holdTtlS * 1000),
        queueTokenId: admission.claims.tokenId,
        maxHolds: this.settings.holdMaxPerUser,
        maxTickets,
        scheduleStartsAt: layout!.startsAt,
      }
      const outcome = await this.repository.hold(hold, trx)
      this.metrics.hold(hold.concertId, outcome)
      if (outcome !== 'HELD') throw holdRefusals[outcome](this.settings, seatNo, maxTickets)
      // Kept as the key's answer: JSON, so times as text.
      return {
        reservationId: hold.reservationId,
        concertId: hold.concertId,
        price: hold.price,
        heldUntil: hold.heldUntil.toISOString(),
        createdAt: hold.now.toISOString(),
      }
    })
    await this.seatsChanged(scheduleId, held.concertId)
    return {
      ...held,
      scheduleId,
      seatNo,
      status: 'HELD',
      heldUntil: new Date(held.heldUntil),
      createdAt: new Date(held.createdAt),
      queueTokenId: admission.claims.tokenId,
    }
  }

  /** Releases the user's own live hold. Releasing a released hold again is not an error. */
  async release(userId: string, reservationId: string): Promise<void> {
    const reservation = await this.find(userId, reservationId)
    if (!reservation) throw notFound('reservation')
    if (await this.repository.release(reservation, new Date(this.clock.now()))) {
      await this.seatsChanged(reservation.scheduleId, reservation.concertId)
      return
    }
    switch ((await this.find(userId, reservationId))?.status) {
      case 'RELEASED':
        return
      case 'CONFIRMED':
        throw new AppError('ALREADY_PAID', 'a paid reservation cannot be released')
      default:
        throw new AppError('HOLD_EXPIRED', 'the hold has expired')
    }
  }

  find(userId: string, reservationId: string): Promise<Reservation | undefined> {
    return this.repository.find(userId, reservationId, this.clock.now())
  }

  listMine(userId: string, limit = 1000): Promise<Reservation[]> {
    return this.repository.listMine(userId, this.clock.now(), limit)
  }

  /** A seat of this schedule changed hands (here, or by a payment): its cached reads are stale. */
  async seatsChanged(scheduleId: string, concertId: string): Promise<void> {
    await this.cache.invalidate(keys.seatMap(scheduleId), keys.taken(concertId))
  }

  /** Tidies expired holds (never needed for correctness). */
  sweep(batch = 5000): Promise<number> {
    return this.repository.sweep(new Date(this.clock.now()), batch)
  }

  /** Every seat with its place and status: the full seat-map form. */
  static fullSeats({ layout, held, sold }: SeatMap): SeatView[] {
    const status = new Map<number, SeatView['status']>()
    for (const n of held) status.set(n, 'HELD')
    for (const n of sold) status.set(n, 'SOLD')
    const seats: SeatView[] = []
    for (const section of layout.sections) {
      for (let i = 0; i < section.rows * section.seatsPerRow; i++) {
        const seatNo = section.firstSeatNo + i
        seats.push({
          seatNo,
          section: section.name,
          row: Math.floor(i / section.seatsPerRow) + 1,
          price: section.price,
          status: status.get(seatNo) ?? 'AVAILABLE',
        })
      }
    }
    return seats
  }
}
