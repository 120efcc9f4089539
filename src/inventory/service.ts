import type { Cache } from '../platform/cache/cache.js'
import type { Clock } from '../platform/clock.js'

/** A date of a concert as the catalog stores it. */
export interface DateRow {
  scheduleId: string
  startsAt: Date
  totalSeats: number
}

/** Where the dates of a concert are read: the catalog's repository, wired in by the app. */
export interface ConcertDates {
  upcomingSchedules(concertId: string, after: Date): Promise<DateRow[]>
}

/** Where the seats taken on each date are counted: the reservation's repository, wired in by the app. */
export interface SeatCounts {
  /** Per date: the seats held (live) or sold, and of those the sold ones. A date with none may be missing. */
  seatCounts(scheduleIds: string[], now: Date): Promise<Record<string, { taken: number; sold: number }>>
}

/** A date that has not started, with its seats neither held nor sold. */
export interface BookableDate {
  scheduleId: string
  startsAt: Date
  availableSeats: number
  totalSeats: number
  soldSeats: number
}

/** What is left to sell of a concert, all bookable dates together. */
export interface Left {
  availableSeats: number
  /** Seats not sold: available or held (a hold may still end). */
  unsoldSeats: number
  /** Every seat is sold, or no date is bookable (none made yet, or all started). */
  soldOut: boolean
}

const DATES_TTL_MS = 30_000
/** Free-seat counts move with every hold: another process may show them up to 1 s old. */
const COUNTS_TTL_MS = 1000

/**
 * The inventory's cache keys: only this component reads them; the catalog (a new date) and the
 * reservation component (a hold, a release, a payment) tell it when they change.
 */
const keys = {
  dates: (concertId: string) => `schedules:${concertId}`,
  taken: (concertId: string) => `taken:${concertId}`,
}

/**
 * What is left to sell per concert: its bookable dates with their free seats, and whether it is
 * sold out. Read by the catalog (sold-out marks), the queue (joins, status, admission) and the
 * reservation component (bookable dates); at most 1 s old, so the queue may read it on every poll.
 */
export class Inventory {
  /** Each cached list of dates with its times read back as Dates, once per list rather than per call. */
  readonly #parsedDates = new WeakMap<object, DateRow[]>()
  private readonly dateRows: ConcertDates
  private readonly seats: SeatCounts
  private readonly cache: Cache
  private readonly clock: Clock

  constructor(parts: { dates: ConcertDates; seats: SeatCounts; cache: Cache; clock: Clock }) {
    this.dateRows = parts.dates
    this.seats = parts.seats
    this.cache = parts.cache
    this.clock = parts.clock
  }

  /** The dates of a concert that have not started, with their free and sold seats. */
  async dates(concertId: string): Promise<BookableDate[]> {
    const dates = await this.upcoming(concertId)
    const now = new Date(this.clock.now())
    const counts = await this.cache.get(keys.taken(concertId), COUNTS_TTL_MS, () =>
      this.seats.seatCounts(
        dates.map((s) => s.scheduleId),
        now,
      ),
    )
    return dates.map((s) => {
      const { taken, sold } = counts[s.scheduleId] ?? { taken: 0, sold: 0 }
      return { availableSeats: s.totalSeats - taken, soldSeats: sold, ...s }
    })
  }

  /** The seats of a concert neither held nor sold, and whether every seat is sold. */
  async left(concertId: string): Promise<Left> {
    let total = 0
    let available = 0
    let sold = 0
    for (const date of await this.dates(concertId)) {
      total += date.totalSeats
      available += date.availableSeats
      sold += date.soldSeats
    }
    return { availableSeats: available, unsoldSeats: total - sold, soldOut: sold === total }
  }

  async soldOut(concertId: string): Promise<boolean> {
    return (await this.left(concertId)).soldOut
  }

  /** A date was added to the concert. */
  datesChanged(concertId: string): Promise<void> {
    return this.cache.invalidate(keys.dates(concertId))
  }

  /** A seat of the concert was held, released or sold. */
  seatsChanged(concertId: string): Promise<void> {
    return this.cache.invalidate(keys.taken(concertId))
  }

  private async upcoming(concertId: string): Promise<DateRow[]> {
    const now = this.clock.now()
    const stored = await this.cache.get(keys.dates(concertId), DATES_TTL_MS, async () =>
      (await this.dateRows.upcomingSchedules(concertId, new Date(now))).map((s) => ({ ...s, startsAt: s.startsAt.toISOString() })),
    )
    let parsed = this.#parsedDates.get(stored)
    if (!parsed) {
      parsed = stored.map((s) => ({ ...s, startsAt: new Date(s.startsAt) }))
      this.#parsedDates.set(stored, parsed)
    }
    return parsed.filter((s) => s.startsAt.getTime() > now)
  }
}
