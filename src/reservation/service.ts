import type { ScheduleLayout, ScheduleStatus } from '../catalog/repository.js'
import { type CatalogService, locateSeat } from '../catalog/service.js'
import type { IdempotencyService } from '../idempotency/service.js'
import type { BookableDate, Inventory } from '../inventory/service.js'
import type { Cache } from '../platform/cache/cache.js'
import type { Clock } from '../platform/clock.js'
import { AppError, badRequest, notFound } from '../platform/errors.js'
import { SharedBodies, type SharedJson } from '../platform/http/compression.js'
import { newId } from '../platform/ids.js'
import type { Metrics } from '../platform/metrics.js'
import type { BookingHealth } from '../queue/booking-health.js'
import type { Admitted, Credentials, QueueGate } from '../queue/gate.js'
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

/** A bookable date as fans and operators see it. */
export type DateView = Omit<BookableDate, 'soldSeats'>

/** A date as operators see it: on sale, or cancelled (its refunds running, or done). */
export type OperatorDateView = DateView & { status: ScheduleStatus }

export interface ReservationSettings {
  holdTtlS: number
  holdMaxPerUser: number
  ticketsPerUser: number
}

/** What the reservation component is built from. */
export interface ReservationParts {
  repository: ReservationRepository
  catalog: CatalogService
  /** The bookable dates with their free seats, told of every seat that changes hands. */
  inventory: Inventory
  /** The waiting room's gate, which every fan's read and hold passes. */
  gate: QueueGate
  idempotency: IdempotencyService
  clock: Clock
  settings: ReservationSettings
  /** Shared across processes (Redis) when configured: seat maps. */
  cache: Cache
  metrics: Metrics
  /** Told how each hold answers: adaptive admission steers by it. */
  health: BookingHealth
}

/** Above this many seats the seat map defaults to the compact form, and the full form is refused. */
export const FULL_FORM_MAX_SEATS = 1000

export type SeatMapFormat = 'full' | 'compact'

/** Seat maps and free-seat counts move with every hold: another process may show them up to 1 s old. */
const SEATS_TTL_MS = 1000

/** The reservation component's cache keys: only this component reads or invalidates them. */
const keys = {
  seatMap: (scheduleId: string) => `seats:${scheduleId}`,
}

const holdRefusals: Record<Exclude<HoldOutcome, 'HELD'>, (s: ReservationSettings, seatNo: number, maxTickets: number) => AppError> = {
  HOLD_LIMIT_REACHED: (s) => new AppError('HOLD_LIMIT_REACHED', `at most ${s.holdMaxPerUser} live holds per user on one date`),
  TICKET_LIMIT: (_, __, maxTickets) =>
    new AppError('TICKET_LIMIT', `at most ${maxTickets} seats per fan for this concert, held or paid, all dates together`, {
      maxTicketsPerUser: maxTickets,
    }),
  SEAT_UNAVAILABLE: (_, seatNo) => new AppError('SEAT_UNAVAILABLE', `seat ${seatNo} is held or sold`),
  SCHEDULE_CANCELLED: () => scheduleCancelled(),
}

/** A cancelled date takes no hold or payment. */
export const scheduleCancelled = () =>
  new AppError('SCHEDULE_CANCELLED', 'this date is cancelled: it takes no hold or payment, and every paid seat is refunded in full')

/**
 * Seats and holds: the booking flow behind the queue's gate. A seat row is the lock point: taking
 * a hold is one conditional update that also treats a hold past its deadline as free, so no
 * sweeper is needed for correctness.
 */
export class ReservationService {
  readonly #seatMapBodies = new SharedBodies<SeatMapFormat>()
  private readonly repository: ReservationRepository
  private readonly catalog: CatalogService
  private readonly inventory: Inventory
  private readonly gate: QueueGate
  private readonly idempotency: IdempotencyService
  private readonly clock: Clock
  private readonly settings: ReservationSettings
  private readonly cache: Cache
  private readonly metrics: Metrics
  private readonly health: BookingHealth

  constructor(parts: ReservationParts) {
    this.repository = parts.repository
    this.catalog = parts.catalog
    this.inventory = parts.inventory
    this.gate = parts.gate
    this.idempotency = parts.idempotency
    this.clock = parts.clock
    this.settings = parts.settings
    this.cache = parts.cache
    this.metrics = parts.metrics
    this.health = parts.health
  }

  /** The bookable dates of a concert with their free seats (gated). */
  async dates(credentials: Credentials, concertId: string): Promise<DateView[]> {
    const concert = await this.catalog.concert(concertId)
    const admitted = await this.gate.admit(credentials, concert?.concertId)
    return this.dateViews(admitted.concertId)
  }

  /**
   * The same dates for operators, without the gate, and with the cancelled ones that have not
   * started (nothing left to sell on them): an unknown concert is 404.
   */
  async datesForOperators(concertId: string): Promise<OperatorDateView[]> {
    if (!(await this.catalog.concert(concertId))) throw notFound('concert')
    const [onSale, cancelled] = await Promise.all([this.dateViews(concertId), this.catalog.cancelledSchedules(concertId)])
    const dates: OperatorDateView[] = [
      ...onSale.map((d) => ({ ...d, status: 'ON_SALE' as const })),
      ...cancelled.map(({ status, ...d }) => ({ ...d, availableSeats: 0, status })),
    ]
    return dates.sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime() || a.scheduleId.localeCompare(b.scheduleId))
  }

  private async dateViews(concertId: string): Promise<DateView[]> {
    return (await this.inventory.dates(concertId)).map(({ soldSeats: _, ...date }) => date)
  }

  /**
   * The seats of a date that are held (live) or sold; every other seat is available (gated).
   * Cached for 1 s: a stale map may show a taken seat as free, but taking it is always decided by
   * the seat row.
   */
  async seatMap(credentials: Credentials, scheduleId: string): Promise<SeatMap> {
    const layout = await this.catalog.layout(scheduleId)
    const admitted = await this.gate.admit(credentials, layout?.concertId)
    return this.takenSeats(admitted, layout!)
  }

  /** The held and sold seats of a date: gated, so it asks for the admission as proof. */
  private async takenSeats(_admitted: Admitted, layout: ScheduleLayout): Promise<SeatMap> {
    const taken = await this.cache.get(keys.seatMap(layout.scheduleId), SEATS_TTL_MS, () =>
      this.repository.takenSeats(layout.scheduleId, new Date(this.clock.now())),
    )
    return { layout, ...taken }
  }

  /**
   * The seat map as sent, in the form asked for (`full` lists every seat; by default up to
   * FULL_FORM_MAX_SEATS seats, `compact` above, and `full` of a larger date is refused: it would be
   * megabytes). Kept with the cached map it is made from, so a crowd reading one map shares one
   * serialised, compressed body.
   */
  async seatMapBody(credentials: Credentials, scheduleId: string, asked: SeatMapFormat | undefined): Promise<SharedJson> {
    const map = await this.seatMap(credentials, scheduleId)
    const { layout } = map
    const format = seatMapFormat(asked, layout.totalSeats)
    // The held and sold arrays are the cache entry's own: the body lives as long as the entry.
    return this.#seatMapBodies.of(map.held, layout, format, () =>
      format === 'full'
        ? { scheduleId: layout.scheduleId, totalSeats: layout.totalSeats, seats: ReservationService.fullSeats(map) }
        : {
            scheduleId: layout.scheduleId,
            totalSeats: layout.totalSeats,
            sections: layout.sections.map(({ name, firstSeatNo, rows, seatsPerRow, price }) => ({
              name,
              firstSeatNo,
              rows,
              seatsPerRow,
              price,
            })),
            held: map.held,
            sold: map.sold,
          },
    )
  }

  /**
   * Holds a seat for HOLD_TTL_S (gated). With an Idempotency-Key, a retry replays the first
   * answer (the hold, or its 409 refusal) and takes no second seat.
   */
  async hold(credentials: Credentials, scheduleId: string, seatNo: number, idempotencyKey?: string): Promise<Reservation> {
    const layout = await this.catalog.layout(scheduleId)
    return this.health.observe(layout?.concertId, () => this.holdOn(credentials, scheduleId, layout, seatNo, idempotencyKey))
  }

  private async holdOn(
    credentials: Credentials,
    scheduleId: string,
    layout: ScheduleLayout | undefined,
    seatNo: number,
    idempotencyKey: string | undefined,
  ): Promise<Reservation> {
    const admitted = await this.gate.admit(credentials, layout?.concertId)
    const place = locateSeat(layout!, seatNo)
    if (!place) throw badRequest('seatNo', `must be a seat of this schedule, from 1 to ${layout!.totalSeats}`)
    const maxTickets = (await this.catalog.concert(layout!.concertId))?.maxTicketsPerUser ?? this.settings.ticketsPerUser
    const held = await this.idempotency.run(admitted.userId, 'reservations', idempotencyKey, { scheduleId, seatNo }, async (trx) => {
      // Counted per attempt that reached the seat: HELD, or the refusal's code.
      const now = this.clock.now()
      if (layout!.startsAt.getTime() <= now) throw new AppError('SCHEDULE_CLOSED', 'this date has already started')
      const hold = {
        reservationId: newId('rsv', now),
        userId: admitted.userId,
        concertId: admitted.concertId,
        scheduleId,
        seatNo,
        price: place.section.price,
        now: new Date(now),
        heldUntil: new Date(now + this.settings.holdTtlS * 1000),
        queueTokenId: admitted.claims.tokenId,
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
      queueTokenId: admitted.claims.tokenId,
      startsAt: layout!.startsAt,
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

  /** How many seats of a date are paid for (and not refunded): a cancellation's work left. */
  paidCount(scheduleId: string): Promise<number> {
    return this.repository.paidCount(scheduleId)
  }

  /** A seat of this schedule changed hands (here, or by a payment): its cached reads are stale. */
  async seatsChanged(scheduleId: string, concertId: string): Promise<void> {
    await Promise.all([this.cache.invalidate(keys.seatMap(scheduleId)), this.inventory.seatsChanged(concertId)])
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

/** The form asked for, or the default for the date's size; `full` of a larger date is refused. */
function seatMapFormat(asked: SeatMapFormat | undefined, totalSeats: number): SeatMapFormat {
  if (asked === 'full' && totalSeats > FULL_FORM_MAX_SEATS) {
    throw new AppError(
      'FORMAT_TOO_LARGE',
      `query field 'format': full lists every seat and is offered up to ${FULL_FORM_MAX_SEATS} seats; this date has ${totalSeats}: ask for format=compact`,
      { field: 'format', maxSeats: FULL_FORM_MAX_SEATS },
    )
  }
  return asked ?? (totalSeats <= FULL_FORM_MAX_SEATS ? 'full' : 'compact')
}
