import { sql } from 'kysely'
import { type Db, inTransaction } from '../db/database.js'
import type { ConcertRow, NewSection } from '../db/schema.js'
import { TtlCache } from '../shared/cache.js'
import type { Clock } from '../shared/clock.js'
import { badRequest, notFound } from '../shared/errors.js'
import { newId } from '../shared/ids.js'

export const MAX_SEATS_PER_SCHEDULE = 100_000

export interface Concert {
  concertId: string
  title: string
  performer: string
  venue: string
  queueOpensAt: Date | null
  saleOpensAt: Date | null
}

export interface Section {
  name: string
  firstSeatNo: number
  rows: number
  seatsPerRow: number
  price: number
}

/** A schedule and its seat map: fixed once created, so cached for long. */
export interface ScheduleLayout {
  scheduleId: string
  concertId: string
  startsAt: Date
  totalSeats: number
  sections: Section[]
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

export interface ScheduleSummary {
  scheduleId: string
  startsAt: Date
  availableSeats: number
  totalSeats: number
}

export interface NewConcert {
  title: string
  performer: string
  venue: string
  queueOpensAt?: Date
  saleOpensAt?: Date
}

export interface SectionInput {
  name: string
  rows: number
  seatsPerRow: number
  price: number
}

export interface NewSchedule {
  startsAt: Date
  sections: SectionInput[]
}

const toConcert = (row: ConcertRow): Concert => ({
  concertId: row.id,
  title: row.title,
  performer: row.performer,
  venue: row.venue,
  queueOpensAt: row.queue_opens_at,
  saleOpensAt: row.sale_opens_at,
})

/** Concerts, their dates and seat maps. */
export class CatalogService {
  /** Concerts by id for hot paths (the queue and the gate); another process's write shows within 1 s. */
  private readonly concertCache: TtlCache<Concert | undefined>
  private readonly listCache: TtlCache<Concert[]>
  private readonly layoutCache: TtlCache<ScheduleLayout | undefined>

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.concertCache = new TtlCache(clock, 1000)
    this.listCache = new TtlCache(clock, 1000)
    // Seat maps never change once created; an unknown id is remembered only briefly.
    this.layoutCache = new TtlCache(clock, 60_000)
  }

  async getLayoutCached(scheduleId: string): Promise<ScheduleLayout | undefined> {
    const layout = await this.layoutCache.get(scheduleId, () => this.getLayout(scheduleId))
    if (!layout) this.layoutCache.delete(scheduleId)
    return layout
  }

  async getLayout(scheduleId: string): Promise<ScheduleLayout | undefined> {
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

  getConcertCached(concertId: string): Promise<Concert | undefined> {
    return this.concertCache.get(concertId, () => this.getConcert(concertId))
  }

  /** The concert list for background loops; a new concert shows within 1 s. */
  listConcertsCached(): Promise<Concert[]> {
    return this.listCache.get('all', () => this.listConcerts())
  }

  async listConcerts(): Promise<Concert[]> {
    const rows = await this.db.selectFrom('concerts').selectAll().orderBy('created_at').orderBy('id').execute()
    return rows.map(toConcert)
  }

  async getConcert(concertId: string): Promise<Concert | undefined> {
    const row = await this.db.selectFrom('concerts').selectAll().where('id', '=', concertId).executeTakeFirst()
    return row && toConcert(row)
  }

  /**
   * The dates of a concert that have not started, with their free seats. A seat is free when
   * available, or held past its expiry; only taken seats are counted, through a partial index.
   */
  async listSchedules(concertId: string): Promise<ScheduleSummary[]> {
    const now = new Date(this.clock.now())
    const rows = await this.db
      .selectFrom('schedules as s')
      .select((eb) => [
        's.id',
        's.starts_at',
        's.total_seats',
        eb
          .selectFrom('seats as t')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('t.schedule_id', '=', 's.id')
          .where('t.status', '<>', 'AVAILABLE')
          .where((w) => w.or([w('t.status', '=', 'SOLD'), w('t.held_until', '>', now)]))
          .as('taken'),
      ])
      .where('s.concert_id', '=', concertId)
      .where('s.starts_at', '>', now)
      .orderBy('s.starts_at')
      .orderBy('s.id')
      .execute()
    return rows.map((r) => ({
      scheduleId: r.id,
      startsAt: r.starts_at,
      totalSeats: r.total_seats,
      availableSeats: r.total_seats - Number(r.taken ?? 0),
    }))
  }

  /**
   * Given only one of the two opening times, the other takes its value: a sale time alone means
   * the line forms when the sale opens, with no pre-queue.
   */
  async createConcert(input: NewConcert, db: Db = this.db): Promise<Concert> {
    const queueOpensAt = input.queueOpensAt ?? input.saleOpensAt ?? null
    const saleOpensAt = input.saleOpensAt ?? input.queueOpensAt ?? null
    if (queueOpensAt && saleOpensAt && queueOpensAt > saleOpensAt) {
      throw badRequest('queueOpensAt', 'must not be later than saleOpensAt')
    }
    const now = new Date(this.clock.now())
    const row = await db
      .insertInto('concerts')
      .values({
        id: newId('con', now.getTime()),
        title: input.title,
        performer: input.performer,
        venue: input.venue,
        queue_opens_at: queueOpensAt,
        sale_opens_at: saleOpensAt,
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    this.concertCache.delete(row.id)
    this.listCache.clear()
    return toConcert(row)
  }

  /**
   * Creates a date with its seat map and every seat row. The seats come from one
   * INSERT … SELECT generate_series, so a 60,000-seat stadium is one statement, not 60,000.
   */
  async createSchedule(
    concertId: string,
    input: NewSchedule,
    db: Db = this.db,
  ): Promise<{ scheduleId: string; totalSeats: number }> {
    const concert = await db.selectFrom('concerts').select('id').where('id', '=', concertId).executeTakeFirst()
    if (!concert) throw notFound('concert')
    const now = this.clock.now()
    if (input.startsAt.getTime() <= now) throw badRequest('startsAt', 'must be in the future')
    const names = new Set(input.sections.map((s) => s.name))
    if (names.size !== input.sections.length) throw badRequest('sections', 'section names must be unique')
    const totalSeats = input.sections.reduce((sum, s) => sum + s.rows * s.seatsPerRow, 0)
    if (totalSeats > MAX_SEATS_PER_SCHEDULE) {
      throw badRequest('sections', `a schedule has at most ${MAX_SEATS_PER_SCHEDULE} seats (these sections have ${totalSeats})`)
    }
    const scheduleId = newId('sch', now)
    await inTransaction(db, async (trx) => {
      await trx
        .insertInto('schedules')
        .values({ id: scheduleId, concert_id: concertId, starts_at: input.startsAt, total_seats: totalSeats, created_at: new Date(now) })
        .execute()
      let firstSeatNo = 1
      const sections: NewSection[] = input.sections.map((s, position) => {
        const section = {
          schedule_id: scheduleId,
          position,
          name: s.name,
          rows: s.rows,
          seats_per_row: s.seatsPerRow,
          first_seat_no: firstSeatNo,
          price: s.price,
        }
        firstSeatNo += s.rows * s.seatsPerRow
        return section
      })
      await trx.insertInto('schedule_sections').values(sections).execute()
      await sql`insert into seats (schedule_id, seat_no)
                select ${scheduleId}, n from generate_series(1, ${totalSeats}::int) as n`.execute(trx)
    })
    return { scheduleId, totalSeats }
  }
}
