import { describe, expect, it } from 'vitest'
import { seedDemoData } from '../../src/catalog/demo.js'
import { json, sharedTestApp } from '../support/app.js'
import { databaseTargets } from '../support/stores.js'

describe.each(databaseTargets)('demo data on $name', (target) => {
  const t = sharedTestApp(target, { DEMO_DATA: 'true' })

  it('when the database starts empty, then a 50-seat concert with several dates and a 60,000-seat stadium are served', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/concerts' })
    expect(res.statusCode).toBe(200)
    const { items } = json(res)
    expect(items).toHaveLength(2)
    const db = t.app.components.database.db
    const schedules = await db.selectFrom('schedules').select(['concert_id', 'total_seats']).orderBy('starts_at').execute()
    const byConcert = (id: string) => schedules.filter((s) => s.concert_id === id).map((s) => s.total_seats)
    const sizes = items.map((c: { concertId: string }) => byConcert(c.concertId))
    expect(sizes).toEqual(expect.arrayContaining([[50, 50, 50], [60_000]]))
    const seats = await db
      .selectFrom('seats')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
    expect(Number(seats.n)).toBe(3 * 50 + 60_000)
  })

  it('when the database already has concerts, then no demo data is added', async () => {
    const { catalog, catalogRepository } = t.app.components
    expect(await seedDemoData({ repository: catalogRepository, catalog, clock: t.clock })).toBe(false)
    const { items } = json(await t.app.inject({ method: 'GET', url: '/v1/concerts' }))
    expect(items).toHaveLength(2)
  })
})
