import { type Kysely, sql } from 'kysely'
import type { SeatInventory } from '../catalog/service.js'
import type { Tx } from '../platform/db/database.js'

type SeatStatus = 'AVAILABLE' | 'HELD' | 'SOLD'
type ReservationStatus = 'HELD' | 'CONFIRMED' | 'RELEASED' | 'EXPIRED' | 'REFUNDED'

/**
 * One row per seat, created with its schedule by one INSERT … SELECT generate_series. The row is
 * the seat's lock point: holding, releasing and selling are single-row conditional updates.
 */
interface SeatsTable {
  schedule_id: string
  seat_no: number
  status: SeatStatus
  reservation_id: string | null
  /** Set while HELD; a HELD seat whose held_until has passed is free. */
  held_until: Date | null
}

interface ReservationsTable {
  id: string
  user_id: string
  concert_id: string
  schedule_id: string
  seat_no: number
  price: number
  /** HELD past held_until reads as EXPIRED; the sweep writes EXPIRED later only to tidy. */
  status: ReservationStatus
  held_until: Date
  /** The queue token the hold was taken under. */
  queue_token_id: string | null
  /** The date's start, copied from its schedule: no payment after it. */
  schedule_starts_at: Date
  created_at: Date
  updated_at: Date
}

export interface ReservationTables {
  seats: SeatsTable
  reservations: ReservationsTable
}

export interface Reservation {
  reservationId: string
  concertId: string
  scheduleId: string
  seatNo: number
  price: number
  status: ReservationStatus
  heldUntil: Date
  createdAt: Date
  /** The queue token the hold was taken under. */
  queueTokenId: string | null
  /** When the date starts: no payment after it, and a refund policy counts back from it. */
  startsAt: Date
}

export type HoldOutcome = 'HELD' | 'HOLD_LIMIT_REACHED' | 'TICKET_LIMIT' | 'SEAT_UNAVAILABLE' | 'SCHEDULE_CANCELLED'

export interface NewHold {
  reservationId: string
  userId: string
  concertId: string
  scheduleId: string
  seatNo: number
  price: number
  now: Date
  heldUntil: Date
  queueTokenId: string
  maxHolds: number
  maxTickets: number
  scheduleStartsAt: Date
}

/** Seats of one date that are held (live) or sold, and of those, sold. */
export interface SeatCounts {
  taken: number
  sold: number
}

/** A HELD reservation past its deadline reads as EXPIRED, whether or not the sweep has run. */
function toReservation(row: ReservationsTable, now: number): Reservation {
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
    queueTokenId: row.queue_token_id,
    startsAt: row.schedule_starts_at,
  }
}

/** The reservation component's tables: seats and reservations. Only this file writes them (and sql/). */
export class ReservationRepository implements SeatInventory {
  constructor(private readonly db: Kysely<ReservationTables>) {}

  /** Every seat of a new schedule, available, in one statement. */
  async createSeats(scheduleId: string, totalSeats: number, trx: Tx): Promise<void> {
    await sql`insert into seats (schedule_id, seat_no)
              select ${scheduleId}, n from generate_series(1, ${totalSeats}::int) as n`.execute(trx)
  }

  /** One round trip: see sql/hold_seat.sql. */
  async hold(h: NewHold, db: Tx = this.db): Promise<HoldOutcome> {
    const { rows } = await sql<{ outcome: HoldOutcome }>`
      select hold_seat(${h.reservationId}, ${h.userId}, ${h.concertId}, ${h.scheduleId}, ${h.seatNo}::int,
                       ${h.price}::bigint, ${h.now}, ${h.heldUntil}, ${h.queueTokenId}, ${h.maxHolds}::int,
                       ${h.scheduleStartsAt}, ${h.maxTickets}::int) as outcome`.execute(db)
    return rows[0]!.outcome
  }

  /** Frees a live hold's seat and marks it RELEASED, with its event; false if it was not a live hold. */
  async release(reservation: Reservation, now: Date): Promise<boolean> {
    // Seat, then reservation: the lock order of sql/hold_end.sql, which takes both.
    const { rows } = await sql<{ released: boolean }>`
      select hold_end(${reservation.reservationId}, ${reservation.scheduleId}, ${reservation.seatNo}::int, ${now}, 'RELEASED')
        as released`.execute(this.db)
    return rows[0]!.released
  }

  async find(userId: string, reservationId: string, now: number): Promise<Reservation | undefined> {
    const row = await this.db
      .selectFrom('reservations')
      .selectAll()
      .where('id', '=', reservationId)
      .where('user_id', '=', userId)
      .executeTakeFirst()
    return row && toReservation(row, now)
  }

  async listMine(userId: string, now: number, limit: number): Promise<Reservation[]> {
    const rows = await this.db
      .selectFrom('reservations')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute()
    return rows.map((r) => toReservation(r, now))
  }

  /** The seats of a schedule that are held (live) or sold, in seat order. */
  async takenSeats(scheduleId: string, now: Date): Promise<{ held: number[]; sold: number[] }> {
    const rows = await this.db
      .selectFrom('seats')
      .select(['seat_no', 'status'])
      .where('schedule_id', '=', scheduleId)
      .where('status', '<>', 'AVAILABLE')
      .where((w) => w.or([w('status', '=', 'SOLD'), w('held_until', '>', now)]))
      .orderBy('seat_no')
      .execute()
    const held: number[] = []
    const sold: number[] = []
    for (const r of rows) (r.status === 'SOLD' ? sold : held).push(r.seat_no)
    return { held, sold }
  }

  /** How many seats of a date are paid for (and not refunded). */
  async paidCount(scheduleId: string): Promise<number> {
    const row = await this.db
      .selectFrom('reservations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('schedule_id', '=', scheduleId)
      .where('status', '=', 'CONFIRMED')
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  /** How many seats of each given schedule are taken and sold, through the partial index of taken seats. */
  async seatCounts(scheduleIds: string[], now: Date): Promise<Record<string, SeatCounts>> {
    if (scheduleIds.length === 0) return {}
    const rows = await this.db
      .selectFrom('seats')
      .select((eb) => [
        'schedule_id',
        eb.fn.countAll<number>().as('taken'),
        eb.fn.count<number>(eb.case().when('status', '=', 'SOLD').then(1).end()).as('sold'),
      ])
      .where('schedule_id', 'in', scheduleIds)
      .where('status', '<>', 'AVAILABLE')
      .where((w) => w.or([w('status', '=', 'SOLD'), w('held_until', '>', now)]))
      .groupBy('schedule_id')
      .execute()
    return Object.fromEntries(rows.map((r) => [r.schedule_id, { taken: Number(r.taken), sold: Number(r.sold) }]))
  }

  /**
   * Tidies what has expired: holds past their deadline become EXPIRED and their seats plainly
   * AVAILABLE. Correctness never waits for this; it keeps reads and indexes small. Each
   * statement is its own transaction and locks one kind of row, seats first (the order of
   * sql/hold_end.sql), skipping rows a booking holds.
   */
  async sweep(now: Date, batch: number): Promise<number> {
    const seats = await sql`
      update seats set status = 'AVAILABLE', reservation_id = null, held_until = null
      where (schedule_id, seat_no) in (
        select schedule_id, seat_no from seats
        where status = 'HELD' and held_until <= ${now} limit ${batch}
        for update skip locked)
        and status = 'HELD' and held_until <= ${now}`.execute(this.db)
    // A seat that was sold stays the truth: its reservation is confirmed, never expired.
    // Each hold marked EXPIRED writes its event (reservation.expired) in the same statement.
    await sql`
      with expired as (
        update reservations r set status = 'EXPIRED', updated_at = ${now}
        where r.id in (
          select id from reservations where status = 'HELD' and held_until <= ${now} limit ${batch}
          for update skip locked)
          and r.status = 'HELD'
          and not exists (select 1 from seats s where s.reservation_id = r.id and s.status = 'SOLD')
        returning r.*
      )
      select events_emit('reservation.expired', reservation_data(jsonb_populate_record(null::reservations, to_jsonb(expired))), ${now})
      from expired`.execute(this.db)
    return Number(seats.numAffectedRows ?? 0)
  }
}
