import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { admin, createConcert, json, sharedTestApp } from '../support/app.js'
import { databaseTargets } from '../support/stores.js'

const DAY = 24 * 3600 * 1000

describe.each(databaseTargets)('catalog on $name', (target) => {
  const t = sharedTestApp(target)

  const counts = async () => {
    const db = t.app.components.database.db
    const row = await sql<{ concerts: number; schedules: number; seats: number }>`
      select (select count(*)::int from concerts) as concerts,
             (select count(*)::int from schedules) as schedules,
             (select count(*)::int from seats) as seats`.execute(db)
    return row.rows[0]!
  }

  const future = (days = 10) => new Date(t.clock.now() + days * DAY).toISOString()

  it('when an admin creates a concert, then it is listed with its opening times', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/concerts',
      headers: admin,
      payload: {
        title: 'Spring Festival',
        performer: 'Band',
        venue: 'Hall',
        queueOpensAt: future(1),
        saleOpensAt: future(2),
      },
    })
    expect(res.statusCode).toBe(201)
    const { concertId } = json(res)
    const list = json(await t.app.inject({ method: 'GET', url: '/v1/concerts' }))
    expect(list.items).toContainEqual({
      concertId,
      title: 'Spring Festival',
      performer: 'Band',
      venue: 'Hall',
      queueOpensAt: future(1),
      presaleOpensAt: null,
      saleOpensAt: future(2),
      joinChallenge: 'none',
      maxTicketsPerUser: 4,
      refundPolicy: null,
      // No date on sale yet: nothing to sell.
      soldOut: true,
    })
  })

  it('when only saleOpensAt is given, then the queue opens at the same time', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/concerts',
      headers: admin,
      payload: { title: 'T', performer: 'P', venue: 'V', saleOpensAt: future(3) },
    })
    const { concertId } = json(res)
    const list = json(await t.app.inject({ method: 'GET', url: '/v1/concerts' }))
    const concert = list.items.find((c: { concertId: string }) => c.concertId === concertId)
    expect(concert.queueOpensAt).toBe(future(3))
    expect(concert.saleOpensAt).toBe(future(3))
  })

  it('when a 60,000-seat schedule is created by one request, then every seat exists, numbered through the sections', async () => {
    const before = await counts()
    const { scheduleId, totalSeats } = await createConcert(t, {
      sections: [
        { name: 'Floor', rows: 20, seatsPerRow: 100, price: 198_000 },
        { name: 'Lower', rows: 100, seatsPerRow: 250, price: 154_000 },
        { name: 'Upper', rows: 110, seatsPerRow: 300, price: 121_000 },
      ],
    })
    expect(totalSeats).toBe(60_000)
    const after = await counts()
    expect(after.seats - before.seats).toBe(60_000)
    const db = t.app.components.database.db
    const sections = await db
      .selectFrom('schedule_sections')
      .select(['name', 'first_seat_no', 'price'])
      .where('schedule_id', '=', scheduleId)
      .orderBy('position')
      .execute()
    expect(sections).toEqual([
      { name: 'Floor', first_seat_no: 1, price: 198_000 },
      { name: 'Lower', first_seat_no: 2_001, price: 154_000 },
      { name: 'Upper', first_seat_no: 27_001, price: 121_000 },
    ])
    const range = await db
      .selectFrom('seats')
      .select((eb) => [eb.fn.min('seat_no').as('min'), eb.fn.max('seat_no').as('max')])
      .where('schedule_id', '=', scheduleId)
      .executeTakeFirstOrThrow()
    expect(range).toEqual({ min: 1, max: 60_000 })
  })

  it('when the admin key is missing, empty or wrong, then 401 and nothing is created', async () => {
    const before = await counts()
    for (const headers of [{}, { 'x-admin-key': '' }, { 'x-admin-key': 'wrong-key-wrong-key-wrong' }]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/admin/concerts',
        headers,
        payload: { title: 'T', performer: 'P', venue: 'V' },
      })
      expect(res.statusCode).toBe(401)
      expect(res.headers['content-type']).toContain('application/problem+json')
      expect(json(res).code).toBe('UNAUTHENTICATED')
    }
    expect(await counts()).toEqual(before)
  })

  const badConcerts: [string, Record<string, unknown>, string][] = [
    ['missing title', { performer: 'P', venue: 'V' }, 'title'],
    ['empty title', { title: '', performer: 'P', venue: 'V' }, 'title'],
    ['blank title', { title: '   ', performer: 'P', venue: 'V' }, 'title'],
    ['title over 200 characters', { title: 'x'.repeat(201), performer: 'P', venue: 'V' }, 'title'],
    ['number as title', { title: 5, performer: 'P', venue: 'V' }, 'title'],
    ['unknown property', { title: 'T', performer: 'P', venue: 'V', price: 1 }, 'price'],
    ['bad date', { title: 'T', performer: 'P', venue: 'V', saleOpensAt: 'tomorrow' }, 'saleOpensAt'],
    [
      'queue opening after the sale',
      { title: 'T', performer: 'P', venue: 'V', queueOpensAt: '2031-01-02T00:00:00Z', saleOpensAt: '2031-01-01T00:00:00Z' },
      'queueOpensAt',
    ],
  ]
  it.each(badConcerts)('when a concert has %s, then 400 names the field and nothing changes', async (_, payload, field) => {
    const before = await counts()
    const res = await t.app.inject({ method: 'POST', url: '/v1/admin/concerts', headers: admin, payload })
    expect(res.statusCode).toBe(400)
    const problem = json(res)
    expect(problem).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', field })
    expect(problem.detail).toContain(field)
    expect(await counts()).toEqual(before)
  })

  const section = { name: 'A', rows: 10, seatsPerRow: 10, price: 1000 }
  const badSchedules: [string, () => Record<string, unknown>, string][] = [
    ['a start in the past', () => ({ startsAt: new Date(t.clock.now() - DAY).toISOString(), sections: [section] }), 'startsAt'],
    ['no sections', () => ({ startsAt: future(), sections: [] }), 'sections'],
    ['rows as a string', () => ({ startsAt: future(), sections: [{ ...section, rows: '10' }] }), 'sections.0.rows'],
    ['zero seats per row', () => ({ startsAt: future(), sections: [{ ...section, seatsPerRow: 0 }] }), 'sections.0.seatsPerRow'],
    ['1,001 rows', () => ({ startsAt: future(), sections: [{ ...section, rows: 1001 }] }), 'sections.0.rows'],
    ['a fractional price', () => ({ startsAt: future(), sections: [{ ...section, price: 10.5 }] }), 'sections.0.price'],
    ['a negative price', () => ({ startsAt: future(), sections: [{ ...section, price: -1 }] }), 'sections.0.price'],
    [
      'more than 100,000 seats',
      () => ({
        startsAt: future(),
        sections: [
          { ...section, rows: 1000, seatsPerRow: 100 },
          { ...section, name: 'B', rows: 1, seatsPerRow: 1 },
        ],
      }),
      'sections',
    ],
    ['two sections of one name', () => ({ startsAt: future(), sections: [section, section] }), 'sections'],
  ]
  it.each(badSchedules)('when a schedule has %s, then 400 names the field and nothing changes', async (_, payload, field) => {
    const { concertId } = json(
      await t.app.inject({
        method: 'POST',
        url: '/v1/admin/concerts',
        headers: admin,
        payload: { title: 'T', performer: 'P', venue: 'V' },
      }),
    )
    const before = await counts()
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/admin/concerts/${concertId}/schedules`,
      headers: admin,
      payload: payload(),
    })
    expect(res.statusCode).toBe(400)
    expect(json(res)).toMatchObject({ code: 'VALIDATION_FAILED', field })
    expect(await counts()).toEqual(before)
  })

  // U+202E (right-to-left override) and U+2066 (left-to-right isolate), at the edges of the ranges
  // refused: `Safe \u202Egnp.exe\u202C` would show as "Safe exe.png".
  const spoofs = ['Safe \u202Egnp.exe\u202C', 'Tour \u2066x\u2069']
  const refusesSpoof = (res: LightMyRequestResponse, field: string, spoof: string) => {
    expect(res.statusCode, `${field}: ${JSON.stringify(spoof)}`).toBe(400)
    const problem = json(res)
    expect(problem).toMatchObject({ code: 'VALIDATION_FAILED', field })
    expect(problem.detail).toContain(`'${field}'`)
    expect(problem.detail).toContain('bidirectional control')
  }

  it('when a title, performer or venue holds a bidirectional control, then 400 names the field and nothing is created or changed', async () => {
    const { concertId } = json(
      await t.app.inject({
        method: 'POST',
        url: '/v1/admin/concerts',
        headers: admin,
        payload: { title: 'T', performer: 'P', venue: 'V' },
      }),
    )
    const before = await counts()
    const listed = json(await t.app.inject({ url: '/v1/concerts' })).items
    for (const field of ['title', 'performer', 'venue']) {
      for (const spoof of spoofs) {
        const payload = { title: 'T', performer: 'P', venue: 'V', [field]: spoof }
        refusesSpoof(await t.app.inject({ method: 'POST', url: '/v1/admin/concerts', headers: admin, payload }), field, spoof)
        const patch = { [field]: spoof }
        refusesSpoof(
          await t.app.inject({ method: 'PATCH', url: `/v1/admin/concerts/${concertId}`, headers: admin, payload: patch }),
          field,
          spoof,
        )
      }
    }
    expect(await counts()).toEqual(before)
    expect(json(await t.app.inject({ url: '/v1/concerts' })).items).toEqual(listed)
  })

  it('when a section name holds a bidirectional control, then 400 names the field and no schedule is created', async () => {
    const { concertId } = json(
      await t.app.inject({
        method: 'POST',
        url: '/v1/admin/concerts',
        headers: admin,
        payload: { title: 'T', performer: 'P', venue: 'V' },
      }),
    )
    const before = await counts()
    for (const spoof of spoofs) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/admin/concerts/${concertId}/schedules`,
        headers: admin,
        payload: {
          startsAt: future(),
          sections: [
            { ...section, name: 'A' },
            { ...section, name: spoof },
          ],
        },
      })
      refusesSpoof(res, 'sections.1.name', spoof)
    }
    expect(await counts()).toEqual(before)
    // Right-to-left text itself is welcome: only the invisible controls are refused.
    const hebrew = await t.app.inject({
      method: 'POST',
      url: `/v1/admin/concerts/${concertId}/schedules`,
      headers: admin,
      payload: { startsAt: future(), sections: [{ ...section, name: 'יציע' }] },
    })
    expect(hebrew.statusCode).toBe(201)
  })

  it('when the concert is unknown, then 404 and no schedule is created', async () => {
    const before = await counts()
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/concerts/con_missing/schedules',
      headers: admin,
      payload: { startsAt: future(), sections: [section] },
    })
    expect(res.statusCode).toBe(404)
    expect(json(res).code).toBe('NOT_FOUND')
    expect(await counts()).toEqual(before)
  })
})
