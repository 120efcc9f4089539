import { sql } from 'kysely'
import type { Cache } from '../cache/cache.js'
import { type CatalogService, locateSeat, type ScheduleLayout, scheduleListKey } from '../catalog/service.js'
import type { Db } from '../db/database.js'
import type { ReservationStatus } from '../db/schema.js'
import type { Clock } from '../shared/clock.js'
import { badRequest, conflict, notFound } from '../shared/errors.js'
import { newId } from '../shared/ids.js'

export interface Reservation {
  reservationId: string
  concertId: string
  scheduleId: string
  seatNo: number
  price: number
  status: ReservationStatus
  heldUntil: Date
  createdAt: Date
}

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

export interface ReservationRow {
  id: string
  concert_id: string
  schedule_id: string
  seat_no: number
  price: number
  status: ReservationStatus
  held_until: Date
  created_at: Date
  queue_token_id: string | null
}

/** A HELD reservation past its deadline reads as EXPIRED, whether or not the sweep has run. */
export function toReservation(row: ReservationRow, now: number): Reservation {
  const expired = row.status === 'HELD' && row.held_until.getTime() <= now
  return {
    reservationId: row.id,
    concertId: row.concert_id,
    scheduleId: row.schedule_id,
    seatNo: row.seat_no,
    price: row.price,
    status: expired ? 'EXPIRED' : row.status,
    heldUntil: row.held_until,
    createdAt: row.created_at,
  }
}

const SEAT_MAP_TTL_MS = 1000
const seatMapKey = (scheduleId: string) => `seats:${scheduleId}`

/** What a change of a seat's state makes stale: its seat map and its date's free-seat count. */
export const seatKeys = (scheduleId: string, concertId: string) => [seatMapKey(scheduleId), scheduleListKey(concertId)]

export interface ReservationSettings {
  holdTtlS: number
  holdMaxPerUser: number
}

/**
 * Seats and holds. A seat row is the lock point: taking a hold is one conditional UPDATE that
 * also treats a hold past its deadline as free, so no sweeper is needed for correctness.
 */
export class ReservationService {
  constructor(
    private readonly db: Db,
    private readonly catalog: CatalogService,
    private readonly clock: Clock,
    private readonly settings: ReservationSettings,
    private readonly cache: Cache,
  ) {}

  /** The concert a schedule belongs to, for the gate (undefined: no such schedule). */
  async concertOfSchedule(scheduleId: string): Promise<string | undefined> {
    return (await this.catalog.getLayoutCached(scheduleId))?.concertId
  }

  async hold(userId: string, scheduleId: string, seatNo: number, queueTokenId: string | null): Promise<Reservation> {
    const layout = await this.catalog.getLayoutCached(scheduleId)
    if (!layout) throw notFound('schedule')
    const place = locateSeat(layout, seatNo)
    if (!place) throw badRequest('seatNo', `must be a seat of this schedule, from 1 to ${layout.totalSeats}`)
    const now = this.clock.now()
    if (layout.startsAt.getTime() <= now) throw conflict('SCHEDULE_CLOSED', 'this date has already started')
    const reservationId = newId('rsv', now)
    const at = new Date(now)
    const heldUntil = new Date(now + this.settings.holdTtlS * 1000)
    const { rows } = await sql<{ outcome: string }>`
      select hold_seat(${reservationId}, ${userId}, ${layout.concertId}, ${scheduleId}, ${seatNo}::int,
                       ${place.section.price}::bigint, ${at}, ${heldUntil}, ${queueTokenId}, ${this.settings.holdMaxPerUser}::int)
        as outcome`.execute(this.db)
    switch (rows[0]!.outcome) {
      case 'HELD':
        await this.cache.invalidate(...seatKeys(scheduleId, layout.concertId))
        return {
          reservationId,
          concertId: layout.concertId,
          scheduleId,
          seatNo,
          price: place.section.price,
          status: 'HELD',
          heldUntil,
          createdAt: at,
        }
      case 'HOLD_LIMIT_REACHED':
        throw conflict('HOLD_LIMIT_REACHED', `at most ${this.settings.holdMaxPerUser} live holds per user on one date`)
      case 'NO_USER':
        throw notFound('user')
      default:
        throw conflict('SEAT_UNAVAILABLE', `seat ${seatNo} is held or sold`)
    }
  }

  /** Releases the user's own live hold. Releasing a released hold again is not an error. */
  async release(userId: string, reservationId: string): Promise<void> {
    const reservation = await this.find(userId, reservationId)
    if (!reservation) throw notFound('reservation')
    const now = this.clock.now()
    const at = new Date(now)
    // Seat first, then reservation: the same lock order as payment.
    const { rows } = await sql<{ released: number }>`
      with seat as (
        update seats set status = 'AVAILABLE', reservation_id = null, held_until = null
        where schedule_id = ${reservation.scheduleId} and seat_no = ${reservation.seatNo}
          and reservation_id = ${reservationId} and status = 'HELD' and held_until > ${at}
        returning seat_no
      ), released as (
        update reservations set status = 'RELEASED', updated_at = ${at}
        where id = ${reservationId} and exists (select 1 from seat)
        returning id
      )
      select (select count(*)::int from released) as released`.execute(this.db)
    if (rows[0]!.released === 1) {
      await this.cache.invalidate(...seatKeys(reservation.scheduleId, reservation.concertId))
      return
    }
    const current = await this.find(userId, reservationId)
    switch (current?.status) {
      case 'RELEASED':
        return
      case 'CONFIRMED':
        throw conflict('ALREADY_PAID', 'a paid reservation cannot be released')
      default:
        throw conflict('HOLD_EXPIRED', 'the hold has expired')
    }
  }

  async find(userId: string, reservationId: string): Promise<(Reservation & { queueTokenId: string | null }) | undefined> {
    const row = await this.db
      .selectFrom('reservations')
      .select(['id', 'concert_id', 'schedule_id', 'seat_no', 'price', 'status', 'held_until', 'created_at', 'queue_token_id'])
      .where('id', '=', reservationId)
      .where('user_id', '=', userId)
      .executeTakeFirst()
    return row && { ...toReservation(row, this.clock.now()), queueTokenId: row.queue_token_id }
  }

  async listMine(userId: string, limit = 1000): Promise<Reservation[]> {
    const rows = await this.db
      .selectFrom('reservations')
      .select(['id', 'concert_id', 'schedule_id', 'seat_no', 'price', 'status', 'held_until', 'created_at', 'queue_token_id'])
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute()
    const now = this.clock.now()
    return rows.map((r) => toReservation(r, now))
  }

  /**
   * The seats that are held (live) or sold; every other seat is available. Cached for 1 s: a
   * stale map may show a taken seat as free, but taking it is always decided by the seat row.
   */
  async seatMap(scheduleId: string): Promise<SeatMap> {
    const layout = await this.catalog.getLayoutCached(scheduleId)
    if (!layout) throw notFound('schedule')
    const taken = await this.cache.get(seatMapKey(scheduleId), SEAT_MAP_TTL_MS, () => this.loadTaken(scheduleId))
    return { layout, ...taken }
  }

  private async loadTaken(scheduleId: string): Promise<{ held: number[]; sold: number[] }> {
    const at = new Date(this.clock.now())
    const rows = await this.db
      .selectFrom('seats')
      .select(['seat_no', 'status'])
      .where('schedule_id', '=', scheduleId)
      .where('status', '<>', 'AVAILABLE')
      .where((w) => w.or([w('status', '=', 'SOLD'), w('held_until', '>', at)]))
      .orderBy('seat_no')
      .execute()
    const held: number[] = []
    const sold: number[] = []
    for (const r of rows) (r.status === 'SOLD' ? sold : held).push(r.seat_no)
    return { held, sold }
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

  /**
   * Tidies what has expired: holds past their deadline become EXPIRED and their seats plainly
   * AVAILABLE. Correctness never waits for this; it keeps reads and indexes small.
   */
  async sweep(batch = 5000): Promise<number> {
    const at = new Date(this.clock.now())
    const seats = await sql`
      update seats set status = 'AVAILABLE', reservation_id = null, held_until = null
      where (schedule_id, seat_no) in (
        select schedule_id, seat_no from seats
        where status = 'HELD' and held_until <= ${at} limit ${batch}
        for update skip locked)
        and status = 'HELD' and held_until <= ${at}`.execute(this.db)
    // A seat that was sold stays the truth: its reservation is confirmed, never expired.
    await sql`
      update reservations r set status = 'EXPIRED', updated_at = ${at}
      where r.id in (
        select id from reservations where status = 'HELD' and held_until <= ${at} limit ${batch}
        for update skip locked)
        and r.status = 'HELD'
        and not exists (select 1 from seats s where s.reservation_id = r.id and s.status = 'SOLD')`.execute(this.db)
    return Number(seats.numAffectedRows ?? 0)
  }
}
