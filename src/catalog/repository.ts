import { type Kysely, sql } from 'kysely'
import type { Tx } from '../platform/db/database.js'

interface ConcertsTable {
  id: string
  title: string
  performer: string
  venue: string
  queue_opens_at: Date | null
  /** Admission starts here, and joining needs a presale code until sale_opens_at; null: no presale. */
  presale_opens_at: Date | null
  sale_opens_at: Date | null
  join_challenge: JoinChallenge
  max_tickets_per_user: number | null
  refund_policy: RefundPolicy | null
  created_at: Date
}

/** A date is on sale until an operator cancels it; CANCELLING while its refunds run. */
export type ScheduleStatus = 'ON_SALE' | 'CANCELLING' | 'CANCELLED'

interface SchedulesTable {
  id: string
  concert_id: string
  starts_at: Date
  total_seats: number
  status: ScheduleStatus
  cancel_requested_at: Date | null
  cancelled_at: Date | null
  created_at: Date
}

/** The seat map of a schedule: sections in order, seats numbered through them row by row. */
interface ScheduleSectionsTable {
  schedule_id: string
  position: number
  name: string
  rows: number
  seats_per_row: number
  first_seat_no: number
  price: number
}

export interface CatalogTables {
  concerts: ConcertsTable
  schedules: SchedulesTable
  schedule_sections: ScheduleSectionsTable
}

export type JoinChallenge = 'none' | 'pow'

/** When a fan may refund a paid seat, and what it costs them. */
export interface RefundPolicy {
  /** Refunds close this many hours before the date starts. */
  refundableUntilHours: number
  /** Kept from the price, in percent (two decimals at most); the amount back is rounded down to whole won. */
  feePercent: number
}

/** A date's state, as the operators' cancellation shows it. */
export interface ScheduleState {
  scheduleId: string
  concertId: string
  startsAt: Date
  status: ScheduleStatus
  cancelRequestedAt: Date | null
}

export interface Concert {
  concertId: string
  title: string
  performer: string
  venue: string
  queueOpensAt: Date | null
  /** Null: no presale. */
  presaleOpensAt: Date | null
  saleOpensAt: Date | null
  joinChallenge: JoinChallenge
  /** Null: the deployment's default (TICKETS_PER_USER). */
  maxTicketsPerUser: number | null
  /** Null: fans cannot refund (a cancelled date is refunded all the same). */
  refundPolicy: RefundPolicy | null
}

export interface Section {
  name: string
  firstSeatNo: number
  rows: number
  seatsPerRow: number
  price: number
}

/** A schedule and its seat map: fixed once created. */
export interface ScheduleLayout {
  scheduleId: string
  concertId: string
  startsAt: Date
  totalSeats: number
  sections: Section[]
}

const toConcert = (row: ConcertsTable): Concert => ({
  concertId: row.id,
  title: row.title,
  performer: row.performer,
  venue: row.venue,
  queueOpensAt: row.queue_opens_at,
  presaleOpensAt: row.presale_opens_at,
  saleOpensAt: row.sale_opens_at,
  joinChallenge: row.join_challenge,
  maxTicketsPerUser: row.max_tickets_per_user,
  refundPolicy: row.refund_policy,
})

/** The catalog's tables: concerts, schedules and their sections. */
export class CatalogRepository {
  constructor(readonly db: Kysely<CatalogTables>) {}

  async concert(concertId: string, db: Tx = this.db): Promise<Concert | undefined> {
    const row = await (db as Kysely<CatalogTables>).selectFrom('concerts').selectAll().where('id', '=', concertId).executeTakeFirst()
    return row && toConcert(row)
  }

  async concerts(): Promise<Concert[]> {
    const rows = await this.db.selectFrom('concerts').selectAll().orderBy('created_at').orderBy('id').execute()
    return rows.map(toConcert)
  }

  async hasConcerts(db: Tx = this.db): Promise<boolean> {
    return (await (db as Kysely<CatalogTables>).selectFrom('concerts').select('id').limit(1).executeTakeFirst()) !== undefined
  }

  async insertConcert(row: ConcertsTable, db: Tx = this.db): Promise<Concert> {
    const inserted = await (db as Kysely<CatalogTables>)
      .insertInto('concerts')
      .values({ ...row, refund_policy: jsonb(row.refund_policy) })
      .returningAll()
      .executeTakeFirstOrThrow()
    return toConcert(inserted)
  }

  /** Changes the given fields of a concert; undefined if there is no such concert. */
  async updateConcert(
    concertId: string,
    changes: Partial<Omit<ConcertsTable, 'id' | 'created_at'>>,
    db: Tx = this.db,
  ): Promise<Concert | undefined> {
    const row = await (db as Kysely<CatalogTables>)
      .updateTable('concerts')
      .set({ ...changes, refund_policy: jsonb(changes.refund_policy) })
      .where('id', '=', concertId)
      .returningAll()
      .executeTakeFirst()
    return row && toConcert(row)
  }

  async layout(scheduleId: string): Promise<ScheduleLayout | undefined> {
    const schedule = await this.db.selectFrom('schedules').selectAll().where('id', '=', scheduleId).executeTakeFirst()
    if (!schedule) return undefined
    const sections = await this.db
      .selectFrom('schedule_sections')
      .selectAll()
      .where('schedule_id', '=', scheduleId)
      .orderBy('position')
      .execute()
    return {
      scheduleId,
      concertId: schedule.concert_id,
      startsAt: schedule.starts_at,
      totalSeats: schedule.total_seats,
      sections: sections.map((s) => ({
        name: s.name,
        firstSeatNo: s.first_seat_no,
        rows: s.rows,
        seatsPerRow: s.seats_per_row,
        price: s.price,
      })),
    }
  }

  /** The dates on sale of a concert that start after `after`, earliest first. */
  async upcomingSchedules(concertId: string, after: Date): Promise<{ scheduleId: string; startsAt: Date; totalSeats: number }[]> {
    return (await this.schedulesAfter(concertId, after, true)).map(({ status: _, ...date }) => date)
  }

  /** The cancelled (or cancelling) dates of a concert that start after `after`, earliest first. */
  cancelledSchedules(concertId: string, after: Date) {
    return this.schedulesAfter(concertId, after, false)
  }

  private async schedulesAfter(concertId: string, after: Date, onSale: boolean) {
    const rows = await this.db
      .selectFrom('schedules')
      .select(['id', 'starts_at', 'total_seats', 'status'])
      .where('concert_id', '=', concertId)
      .where('starts_at', '>', after)
      .where('status', onSale ? '=' : '<>', 'ON_SALE')
      .orderBy('starts_at')
      .orderBy('id')
      .execute()
    return rows.map((r) => ({ scheduleId: r.id, startsAt: r.starts_at, totalSeats: r.total_seats, status: r.status }))
  }

  async insertSchedule(layout: ScheduleLayout, createdAt: Date, db: Tx): Promise<void> {
    const trx = db as Kysely<CatalogTables>
    await trx
      .insertInto('schedules')
      .values({
        id: layout.scheduleId,
        concert_id: layout.concertId,
        starts_at: layout.startsAt,
        total_seats: layout.totalSeats,
        status: 'ON_SALE',
        cancel_requested_at: null,
        cancelled_at: null,
        created_at: createdAt,
      })
      .execute()
    await trx
      .insertInto('schedule_sections')
      .values(
        layout.sections.map((s, position) => ({
          schedule_id: layout.scheduleId,
          position,
          name: s.name,
          rows: s.rows,
          seats_per_row: s.seatsPerRow,
          first_seat_no: s.firstSeatNo,
          price: s.price,
        })),
      )
      .execute()
  }

  async scheduleState(scheduleId: string, db: Tx = this.db): Promise<ScheduleState | undefined> {
    const row = await (db as Kysely<CatalogTables>)
      .selectFrom('schedules')
      .select(['id', 'concert_id', 'starts_at', 'status', 'cancel_requested_at'])
      .where('id', '=', scheduleId)
      .executeTakeFirst()
    return (
      row && {
        scheduleId: row.id,
        concertId: row.concert_id,
        startsAt: row.starts_at,
        status: row.status,
        cancelRequestedAt: row.cancel_requested_at,
      }
    )
  }

  /** Closes a date on sale to holds and payments (sql/schedule_open.sql); false if it was not on sale. */
  async markCancelling(scheduleId: string, now: Date, db: Tx): Promise<boolean> {
    const result = await (db as Kysely<CatalogTables>)
      .updateTable('schedules')
      .set({ status: 'CANCELLING', cancel_requested_at: now })
      .where('id', '=', scheduleId)
      .where('status', '=', 'ON_SALE')
      .executeTakeFirst()
    return result.numUpdatedRows > 0n
  }

  /** A cancelling date whose refunds are done is CANCELLED. */
  async markCancelled(scheduleId: string, now: Date, db: Tx = this.db): Promise<void> {
    await (db as Kysely<CatalogTables>)
      .updateTable('schedules')
      .set({ status: 'CANCELLED', cancelled_at: now })
      .where('id', '=', scheduleId)
      .where('status', '=', 'CANCELLING')
      .execute()
  }

  /** One process seeds demo data, however many start together on an empty database. */
  async lockDemoSeeding(trx: Tx): Promise<void> {
    await sql`select pg_advisory_xact_lock(${DEMO_LOCK})`.execute(trx)
  }
}

/** A JSON column's value as a parameter: text the column casts (null: SQL null; undefined: unchanged). */
const jsonb = <T>(value: T | null | undefined) => (value == null ? value : (JSON.stringify(value) as never))

// Any constant: processes that start together on an empty database seed it once.
const DEMO_LOCK = 0x5d_0c_de_30
