import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { type Envelope, recordEvent } from '../../src/events/outbox.js'
import { up as eventCounter } from '../../src/platform/db/migrations/0004_event_counter.js'
import { admin, admittedFans, createConcert, holdSeat, json, pay, startTestApp, type TestApp } from '../support/app.js'
import { databaseTargets, postgresTarget, storesOf } from '../support/stores.js'

/** What the relay has numbered: every committed event after `after`, through the admin feed. */
async function feed(t: TestApp, after = 0): Promise<Envelope[]> {
  await t.app.components.events.relay.runOnce()
  const res = await t.app.inject({ url: `/v1/admin/events?after=${after}&limit=1000`, headers: admin })
  expect(res.statusCode).toBe(200)
  return json(res).items
}

const myReservation = async (t: TestApp, auth: Record<string, string>, reservationId: string) =>
  json(await t.app.inject({ url: '/v1/me/reservations', headers: auth })).items.find((r: any) => r.reservationId === reservationId)

describe.each(databaseTargets)('the outbox on $name', (target) => {
  let t: TestApp
  afterEach(() => t?.app.close())

  it('when a sale runs (charge, hold, release, expiry, pay), then exactly its events are there, in sequence order, with the data the API shows', async () => {
    t = await startTestApp(target, { HOLD_TTL_S: '60' })
    const { concertId, scheduleId, totalSeats } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)

    const charged = await t.app.inject({
      method: 'POST',
      url: `/v1/admin/users/${fan!.userId}/balance/charges`,
      headers: { ...admin, 'idempotency-key': 'provider-payment-1' },
      payload: { amount: 200_000 },
    })
    expect(charged.statusCode).toBe(200)

    const released = json(await holdSeat(t, fan!.headers, scheduleId, 1))
    expect(
      (await t.app.inject({ method: 'DELETE', url: `/v1/reservations/${released.reservationId}`, headers: fan!.auth })).statusCode,
    ).toBe(204)
    const releasedView = await myReservation(t, fan!.auth, released.reservationId)

    const lapsed = json(await holdSeat(t, fan!.headers, scheduleId, 2))
    t.clock.advanceSeconds(61)
    await t.app.components.reservations.sweep()
    const lapsedView = await myReservation(t, fan!.auth, lapsed.reservationId)
    expect(lapsedView.status).toBe('EXPIRED')

    const held = await holdSeat(t, fan!.headers, scheduleId, 3)
    expect(held.statusCode).toBe(201)
    const paid = await pay(t, fan!.headers, json(held).reservationId)
    expect(paid.statusCode).toBe(201)

    const events = await feed(t)
    expect(events.map((e) => e.type)).toEqual([
      'concert.created',
      'schedule.created',
      'balance.charged',
      'reservation.held',
      'reservation.released',
      'reservation.held',
      'reservation.expired',
      'reservation.held',
      'payment.succeeded',
    ])
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1))
    for (const e of events) {
      expect(e.id).toMatch(/^evt_[0-9a-f]{32}$/)
      expect(new Date(e.timestamp).toISOString()).toBe(e.timestamp)
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)

    const data = events.map((e) => e.data)
    expect(data[0]).toEqual({
      concertId,
      title: 'Test Concert',
      performer: 'Test Band',
      venue: 'Test Hall',
      queueOpensAt: null,
      presaleOpensAt: null,
      saleOpensAt: null,
      joinChallenge: 'none',
      maxTicketsPerUser: null,
      refundPolicy: null,
    })
    expect(data[1]).toEqual({ scheduleId, concertId, startsAt: expect.any(String), totalSeats })
    expect(data[2]).toEqual({ ...json(charged), userId: fan!.userId })
    // A hold's event is the reservation as the fan's list shows it, HELD; the hold's answer is part of it.
    const paidView = await myReservation(t, fan!.auth, json(held).reservationId)
    expect(data[3]).toEqual({ ...releasedView, status: 'HELD', userId: fan!.userId })
    expect(data[3]).toMatchObject(released)
    expect(data[4]).toEqual({ ...releasedView, userId: fan!.userId })
    expect(data[5]).toEqual({ ...lapsedView, status: 'HELD', userId: fan!.userId })
    expect(data[5]).toMatchObject(lapsed)
    expect(data[6]).toEqual({ ...lapsedView, userId: fan!.userId })
    expect(data[7]).toEqual({ ...paidView, status: 'HELD', userId: fan!.userId })
    expect(data[7]).toMatchObject(json(held))
    expect(data[8]).toEqual({ ...json(paid), userId: fan!.userId })
  })

  it('when a payment is refused, then it writes no event; a hold that takes over a lapsed one expires it with its event', async () => {
    t = await startTestApp(target, { HOLD_TTL_S: '60' })
    const { concertId, scheduleId } = await createConcert(t)
    const [broke, other] = await admittedFans(t, concertId, 2)
    const before = (await feed(t)).length

    const held = json(await holdSeat(t, broke!.headers, scheduleId, 5))
    const refused = await pay(t, broke!.headers, held.reservationId)
    expect(refused.statusCode).toBe(409)
    expect(json(refused).code).toBe('INSUFFICIENT_BALANCE')
    const afterRefusal = await feed(t, before)
    expect(afterRefusal.map((e) => e.type)).toEqual(['reservation.held'])

    t.clock.advanceSeconds(61)
    const takeover = await holdSeat(t, other!.headers, scheduleId, 5)
    expect(takeover.statusCode).toBe(201)
    const next = await feed(t, afterRefusal.at(-1)!.sequence)
    expect(next.map((e) => [e.type, (e.data as any).reservationId])).toEqual([
      ['reservation.expired', held.reservationId],
      ['reservation.held', json(takeover).reservationId],
    ])
    expect(next[0]!.data).toEqual({ ...(await myReservation(t, broke!.auth, held.reservationId)), userId: broke!.userId })
    // The sweep finds nothing more to expire: one event per lapsed hold.
    await t.app.components.reservations.sweep()
    expect(await feed(t, next.at(-1)!.sequence)).toEqual([])
  })

  it('when an operator changes a concert and its queue, then each change has its event with the result the API answered', async () => {
    t = await startTestApp(target)
    const { concertId } = await createConcert(t)
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/v1/admin/concerts/${concertId}`,
      headers: admin,
      payload: { title: 'Renamed', maxTicketsPerUser: 2 },
    })
    expect(patched.statusCode).toBe(200)
    const queue = await t.app.inject({
      method: 'PATCH',
      url: `/v1/admin/concerts/${concertId}/queue`,
      headers: admin,
      payload: { paused: true },
    })
    expect(queue.statusCode).toBe(200)
    const refusedPatch = await t.app.inject({
      method: 'PATCH',
      url: `/v1/admin/concerts/${concertId}`,
      headers: admin,
      payload: { queueOpensAt: '2031-01-02T00:00:00Z', saleOpensAt: '2031-01-01T00:00:00Z' },
    })
    expect(refusedPatch.statusCode).toBe(400)

    const events = (await feed(t)).slice(2)
    expect(events.map((e) => e.type)).toEqual(['concert.updated', 'queue.settings_changed'])
    expect(events[0]!.data).toEqual(json(patched))
    expect(events[1]!.data).toEqual({ concertId, ...json(queue) })
  })

  it('when the feed is read in pages, then each page follows the last, and bad bounds are 400', async () => {
    t = await startTestApp(target)
    for (let i = 0; i < 3; i++) await createConcert(t)
    await t.app.components.events.relay.runOnce()
    const first = json(await t.app.inject({ url: '/v1/admin/events?limit=4', headers: admin }))
    expect(first.items.map((e: Envelope) => e.sequence)).toEqual([1, 2, 3, 4])
    const second = json(await t.app.inject({ url: `/v1/admin/events?after=${first.nextAfter}&limit=4`, headers: admin }))
    expect(second.items.map((e: Envelope) => e.sequence)).toEqual([5, 6])
    expect(json(await t.app.inject({ url: `/v1/admin/events?after=${second.nextAfter}`, headers: admin }))).toEqual({
      items: [],
      nextAfter: 6,
    })
    for (const query of ['limit=0', 'limit=1001', 'after=-1', 'after=x']) {
      const res = await t.app.inject({ url: `/v1/admin/events?${query}`, headers: admin })
      expect(res.statusCode).toBe(400)
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    }
    expect((await t.app.inject({ url: '/v1/admin/events' })).statusCode).toBe(401)
  })

  it('when events are older than 7 days, then the sweep deletes them', async () => {
    t = await startTestApp(target)
    await createConcert(t)
    await t.app.components.events.relay.runOnce()
    t.clock.advance(7 * 24 * 3600 * 1000 - 1000)
    expect(await t.app.components.events.sweep()).toBe(0)
    t.clock.advance(2000)
    expect(await t.app.components.events.sweep()).toBe(2)
    expect(await feed(t)).toEqual([])
  })

  it('when retention has deleted every event, then the next ones are numbered after the last ever given, and a reader at its last sequence sees them', async () => {
    t = await startTestApp(target)
    await createConcert(t)
    const read = await feed(t)
    expect(read.map((e) => e.sequence)).toEqual([1, 2])
    t.clock.advance(8 * 24 * 3600 * 1000)
    expect(await t.app.components.events.sweep()).toBe(2)

    await createConcert(t)
    const next = await feed(t, read.at(-1)!.sequence)
    expect(next.map((e) => [e.type, e.sequence])).toEqual([
      ['concert.created', 3],
      ['schedule.created', 4],
    ])
  })

  it('when a database with numbered events takes the counter migration, then numbering follows on from its highest sequence', async () => {
    t = await startTestApp(target)
    for (let i = 0; i < 3; i++) await createConcert(t)
    expect((await feed(t)).map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6])
    // The database as it was before the migration: no counter.
    const { db } = t.app.components.database
    await sql`drop table event_counter`.execute(db)
    await eventCounter(db)
    t.clock.advance(8 * 24 * 3600 * 1000)
    expect(await t.app.components.events.sweep()).toBe(6)

    await createConcert(t)
    expect((await feed(t, 6)).map((e) => e.sequence)).toEqual([7, 8])
  })

  it('when a change writes its event and then fails, then the event is not in the outbox: in a TypeScript transaction and in a database function', async () => {
    t = await startTestApp(target, { HOLD_TTL_S: '60' })
    const { concertId, scheduleId } = await createConcert(t)
    const [fan, other] = await admittedFans(t, concertId, 2)
    const before = await feed(t)
    const { catalog } = t.app.components
    const { db } = t.app.components.database

    // A concert created in a caller's transaction (its event written) whose date is then refused: both roll back.
    const failed = db.transaction().execute(async (trx) => {
      const created = await catalog.createConcert({ title: 'Never', performer: 'P', venue: 'V' }, trx)
      expect(Number((await sql<{ n: string }>`select count(*) as n from events`.execute(trx)).rows[0]!.n)).toBe(before.length + 1)
      await catalog.createSchedule(created.concertId, { startsAt: new Date(t.clock.now() - 1000), sections: [] }, trx)
    })
    await expect(failed).rejects.toMatchObject({ status: 400 })
    // And recordEvent itself, then a throw.
    await expect(
      db.transaction().execute(async (trx) => {
        await recordEvent(trx, 'concert.updated', { concertId }, new Date(t.clock.now()))
        throw new Error('the change failed after its event')
      }),
    ).rejects.toThrow('the change failed after its event')

    // hold_seat expires the lapsed hold it takes over, writing reservation.expired, then its own insert fails.
    const lapsed = json(await holdSeat(t, fan!.headers, scheduleId, 5))
    t.clock.advanceSeconds(61)
    const now = new Date(t.clock.now())
    const reservation = await sql<any>`select * from reservations where id = ${lapsed.reservationId}`.execute(db)
    const r = reservation.rows[0]
    await expect(
      sql`select hold_seat(${lapsed.reservationId}, ${other!.userId}, ${concertId}, ${scheduleId}, 5, ${r.price}::bigint, ${now},
                           ${new Date(now.getTime() + 60_000)}, ${r.queue_token_id}, 4, ${r.schedule_starts_at}, 4)`.execute(db),
    ).rejects.toThrow(/duplicate key/)
    // Nothing of it stayed: the lapsed hold is still HELD in the table, its seat still its own.
    const unchanged = await sql<{ status: string }>`select status from reservations where id = ${lapsed.reservationId}`.execute(db)
    expect(unchanged.rows).toEqual([{ status: 'HELD' }])

    const after = await feed(t, before.at(-1)!.sequence)
    expect(after.map((e) => [e.type, e.sequence])).toEqual([['reservation.held', before.length + 1]])
    expect(Number((await sql<{ n: string }>`select count(*) as n from events`.execute(db)).rows[0]!.n)).toBe(before.length + 1)
    // What the failed changes wrote took no number: the next event follows on.
    const takeover = await holdSeat(t, other!.headers, scheduleId, 5)
    expect(takeover.statusCode).toBe(201)
    expect((await feed(t, after.at(-1)!.sequence)).map((e) => [e.type, e.sequence])).toEqual([
      ['reservation.expired', before.length + 2],
      ['reservation.held', before.length + 3],
    ])
  })
})

describe.each(storesOf(postgresTarget))('numbering on $name', (target) => {
  const apps: TestApp[] = []
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((t) => t.app.close()))
  })

  it('when a relay of another schema in the same database is numbering, then this one numbers all the same; within a schema, one relay numbers at a time', async () => {
    const [a, b] = [await startTestApp(target), await startTestApp(target)]
    apps.push(a, b)
    await createConcert(a)
    await createConcert(b)
    // a's relay is in the middle of numbering: its transaction holds a's counter.
    const busy = await a.app.components.database.db.connection().execute(async (conn) => {
      await sql`begin`.execute(conn)
      try {
        expect((await sql<{ n: number }>`select events_sequence(1000, now(), false) as n`.execute(conn)).rows[0]!.n).toBe(2)
        // Another relay of a skips its turn…
        expect(await a.app.components.events.outbox.sequence(1000, new Date(a.clock.now()))).toBe(0)
        // …while b, in another schema, numbers its own events.
        return (await feed(b)).map((e) => e.sequence)
      } finally {
        await sql`rollback`.execute(conn)
      }
    })
    expect(busy).toEqual([1, 2])
    expect((await feed(a)).map((e) => e.sequence)).toEqual([1, 2])
  })
})
