import { sql } from 'kysely'
import { type Db, inTransaction } from '../db/database.js'
import type { ConcertRow, NewSection } from '../db/schema.js'
import type { Cache } from '../cache/cache.js'
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

const LAYOUT_TTL_MS = 10 * 60_000
const CONCERT_TTL_MS = 30_000
const CONCERTS_TTL_MS = 5000
/** Free-seat counts move with every hold: another process may show them up to 1 s old. */
const SCHEDULES_TTL_MS = 1000

export const scheduleListKey = (concertId: string) => `schedules:${concertId}`

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
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /** Shared across processes (Redis) when configured: concerts, schedule lists. */
    private readonly cache: Cache,
    /** This process only: seat-map layouts, which never change once created. */
    private readonly local: Cache,
  ) {}

  async getLayoutCached(scheduleId: string): Promise<ScheduleLayout | undefined> {
    const layout = await this.local.get(`layout:${scheduleId}`, LAYOUT_TTL_MS, () => this.getLayout(scheduleId))
    // An unknown id is not remembered: the schedule may be created the next moment.
    if (!layout) await this.local.invalidate(`layout:${scheduleId}`)
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

  /** A concert by id, for hot paths (the queue and the gate); null-safe for unknown ids. */
  async getConcertCached(concertId: string): Promise<Concert | undefined> {
    const stored = await this.cache.get(`concert:${concertId}`, CONCERT_TTL_MS, async () => {
      const concert = await this.getConcert(concertId)
      return concert ? storeConcert(concert) : null
    })
    return stored ? loadConcert(stored) : undefined
  }

  async listConcerts(): Promise<Concert[]> {
    const stored = await this.cache.get('concerts', CONCERTS_TTL_MS, async () => {
      const rows = await this.db.selectFrom('concerts').selectAll().orderBy('created_at').orderBy('id').execute()
      return rows.map((r) => storeConcert(toConcert(r)))
    })
    return stored.map(loadConcert)
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
    const stored = await this.cache.get(scheduleListKey(concertId), SCHEDULES_TTL_MS, async () =>
      (await this.loadSchedules(concertId)).map((s) => ({ ...s, startsAt: s.startsAt.toISOString() })),
    )
    return stored.map((s) => ({ ...s, startsAt: new Date(s.startsAt) }))
  }

  private async loadSchedules(concertId: string): Promise<ScheduleSummary[]> {
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
    await this.cache.invalidate('concerts', `concert:${row.id}`)
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
    await this.cache.invalidate(scheduleListKey(concertId))
    return { scheduleId, totalSeats }
  }
}
