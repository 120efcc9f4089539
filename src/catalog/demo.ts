import type { Kysely } from 'kysely'
import type { Clock } from '../platform/clock.js'
import type { CatalogRepository, CatalogTables } from './repository.js'
import type { CatalogService } from './service.js'

const DAY = 24 * 3600 * 1000

/**
 * Whether demo data was created (only on a database without concerts), through the app's own
 * catalog, in one transaction on `db` (a connection of its own at start, see app.ts).
 */
export async function seedDemoData(
  { repository, catalog, clock }: { repository: CatalogRepository; catalog: CatalogService; clock: Clock },
  db: Kysely<CatalogTables> = repository.db,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await repository.lockDemoSeeding(trx)
    if (await repository.hasConcerts(trx)) return false
    const now = clock.now()
    const at = (days: number, hourUtc: number) => {
      const d = new Date(now + days * DAY)
      d.setUTCHours(hourUtc, 0, 0, 0)
      return d
    }

    const club = await catalog.createConcert(
      { title: 'Midnight Echoes — Club Tour', performer: 'The Lanterns', venue: 'Rolling Hall, Seoul' },
      trx,
    )
    for (const days of [14, 15, 16]) {
      await catalog.createSchedule(
        club.concertId,
        { startsAt: at(days, 10), sections: [{ name: 'Standing', rows: 5, seatsPerRow: 10, price: 88_000 }] },
        trx,
      )
    }

    const stadium = await catalog.createConcert({ title: 'World Tour 2027', performer: 'NOVA', venue: 'Seoul Olympic Stadium' }, trx)
    await catalog.createSchedule(
      stadium.concertId,
      {
        startsAt: at(60, 10),
        sections: [
          { name: 'Floor', rows: 20, seatsPerRow: 100, price: 198_000 },
          { name: 'Lower Bowl', rows: 100, seatsPerRow: 250, price: 154_000 },
          { name: 'Upper Bowl', rows: 110, seatsPerRow: 300, price: 121_000 },
        ],
      },
      trx,
    )
    return true
  })
}
