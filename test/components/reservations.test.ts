import { describe, expect, it } from 'vitest'
import { admin, admittedFans, createConcert, createUser, holdSeat, joinQueue, json, seatMap, sharedTestApp } from '../support/app.js'
import { databaseTargets } from '../support/stores.js'

const env = { QUEUE_ADMIT_PER_TICK: '1000', QUEUE_MAX_ACTIVE: '10000', HOLD_TTL_S: '120', HOLD_MAX_PER_USER: '4' }

describe.each(databaseTargets)('seats and holds on $name', (target) => {
  const t = sharedTestApp(target, env)

  it('when an admitted fan holds a seat, then 201 with the price and deadline, and the seat map shows it held', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    const res = await holdSeat(t, fan!.headers, scheduleId, 7)
    expect(res.statusCode).toBe(201)
    expect(json(res)).toEqual({
      reservationId: expect.stringMatching(/^rsv_/),
      scheduleId,
      seatNo: 7,
      price: 50_000,
      status: 'HELD',
      heldUntil: new Date(t.clock.now() + 120_000).toISOString(),
    })
    const map = json(await seatMap(t, fan!.headers, scheduleId))
    expect(map.totalSeats).toBe(50)
    expect(map.seats).toHaveLength(50)
    expect(map.seats[6]).toEqual({ seatNo: 7, section: 'A', row: 1, price: 50_000, status: 'HELD' })
    expect(map.seats[12]).toEqual({ seatNo: 13, section: 'A', row: 2, price: 50_000, status: 'AVAILABLE' })
    const schedules = json(await t.app.inject({ url: `/v1/concerts/${concertId}/schedules`, headers: fan!.headers }))
    expect(schedules.items[0]).toMatchObject({ scheduleId, availableSeats: 49, totalSeats: 50 })
  })

  it('when a seat is held, then another fan gets 409 SEAT_UNAVAILABLE; after the deadline it is free with no sweep', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const [a, b] = await admittedFans(t, concertId, 2)
    expect((await holdSeat(t, a!.headers, scheduleId, 1)).statusCode).toBe(201)
    expect(json(await holdSeat(t, b!.headers, scheduleId, 1))).toMatchObject({ status: 409, code: 'SEAT_UNAVAILABLE' })
    t.clock.advanceSeconds(120)
    expect((await holdSeat(t, b!.headers, scheduleId, 1)).statusCode).toBe(201)
    const mine = json(await t.app.inject({ url: '/v1/me/reservations', headers: a!.auth }))
    expect(mine.items).toEqual([expect.objectContaining({ seatNo: 1, status: 'EXPIRED' })])
  })

  it('when a fan has four live holds on a date, then a fifth is 409 HOLD_LIMIT_REACHED; a released one frees the quota', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    const ids = []
    for (const seatNo of [1, 2, 3, 4]) ids.push(json(await holdSeat(t, fan!.headers, scheduleId, seatNo)).reservationId)
    expect(json(await holdSeat(t, fan!.headers, scheduleId, 5))).toMatchObject({ status: 409, code: 'HOLD_LIMIT_REACHED' })
    const released = await t.app.inject({ method: 'DELETE', url: `/v1/reservations/${ids[0]}`, headers: fan!.auth })
    expect(released.statusCode).toBe(204)
    expect((await holdSeat(t, fan!.headers, scheduleId, 5)).statusCode).toBe(201)
    const map = json(await seatMap(t, fan!.headers, scheduleId))
    expect(map.seats[0].status).toBe('AVAILABLE')
  })

  it('when a fan releases a hold twice, then both are 204; another user releasing it gets 404', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    const other = await createUser(t)
    const { reservationId } = json(await holdSeat(t, fan!.headers, scheduleId, 9))
    const url = `/v1/reservations/${reservationId}`
    expect((await t.app.inject({ method: 'DELETE', url, headers: other.auth })).statusCode).toBe(404)
    expect((await t.app.inject({ method: 'DELETE', url, headers: fan!.auth })).statusCode).toBe(204)
    expect((await t.app.inject({ method: 'DELETE', url, headers: fan!.auth })).statusCode).toBe(204)
    const mine = json(await t.app.inject({ url: '/v1/me/reservations', headers: fan!.auth }))
    expect(mine.items[0]).toMatchObject({ reservationId, status: 'RELEASED' })
    expect(json(await t.app.inject({ url: '/v1/me/reservations', headers: other.auth })).items).toEqual([])
  })

  it('when the seat or schedule is bad, then 400 or 404 and nothing is held', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    for (const seatNo of [0, 51, '3', 2.5, null]) {
      const res = await holdSeat(t, fan!.headers, scheduleId, seatNo)
      expect(res.statusCode, String(seatNo)).toBe(400)
      expect(json(res).field).toBe('seatNo')
    }
    expect(json(await holdSeat(t, fan!.headers, 'sch_unknown', 1))).toMatchObject({ status: 404 })
    expect(json(await seatMap(t, fan!.headers, scheduleId)).seats.every((s: { status: string }) => s.status === 'AVAILABLE')).toBe(true)
  })

  it('when a fan is not admitted or has no token, then holds and seat maps are refused', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    await admittedFans(t, concertId, 1)
    const waiting = await createUser(t)
    const joined = json(await joinQueue(t, concertId, waiting.auth))
    const headers = { ...waiting.auth, 'queue-token': joined.token }
    expect(json(await holdSeat(t, headers, scheduleId, 1))).toMatchObject({ status: 403, code: 'QUEUE_NOT_ADMITTED', position: 1 })
    expect(json(await seatMap(t, headers, scheduleId))).toMatchObject({ status: 403, code: 'QUEUE_NOT_ADMITTED' })
    expect(json(await holdSeat(t, waiting.auth, scheduleId, 1))).toMatchObject({ status: 401, code: 'QUEUE_TOKEN_INVALID' })
  })

  it("when an operator asks for a concert's dates, then each comes with its free seats, with no queue token; a wrong key is 401", async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    expect((await holdSeat(t, fan!.headers, scheduleId, 3)).statusCode).toBe(201)
    const dates = await t.app.inject({ url: `/v1/admin/concerts/${concertId}/schedules`, headers: admin })
    expect(dates.statusCode).toBe(200)
    expect(json(dates).items).toEqual([{ scheduleId, startsAt: expect.any(String), availableSeats: 49, totalSeats: 50, status: 'ON_SALE' }])
    const wrongKey = await t.app.inject({
      url: `/v1/admin/concerts/${concertId}/schedules`,
      headers: { 'x-admin-key': 'not-the-key-0123456789' },
    })
    expect(json(wrongKey)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' })
    const unknown = await t.app.inject({ url: '/v1/admin/concerts/con_unknown/schedules', headers: admin })
    expect(json(unknown)).toMatchObject({ status: 404, code: 'NOT_FOUND' })
  })

  it('when a 60,000-seat date is asked for, then one compact answer carries the whole map', async () => {
    const { concertId, scheduleId } = await createConcert(t, {
      sections: [
        { name: 'Floor', rows: 20, seatsPerRow: 100, price: 198_000 },
        { name: 'Lower', rows: 100, seatsPerRow: 250, price: 154_000 },
        { name: 'Upper', rows: 110, seatsPerRow: 300, price: 121_000 },
      ],
    })
    const [fan] = await admittedFans(t, concertId, 1)
    expect(json(await holdSeat(t, fan!.headers, scheduleId, 59_999))).toMatchObject({ price: 121_000 })
    const res = await seatMap(t, fan!.headers, scheduleId)
    expect(json(res)).toEqual({
      scheduleId,
      totalSeats: 60_000,
      sections: [
        { name: 'Floor', firstSeatNo: 1, rows: 20, seatsPerRow: 100, price: 198_000 },
        { name: 'Lower', firstSeatNo: 2001, rows: 100, seatsPerRow: 250, price: 154_000 },
        { name: 'Upper', firstSeatNo: 27_001, rows: 110, seatsPerRow: 300, price: 121_000 },
      ],
      held: [59_999],
      sold: [],
    })
    expect(res.body.length).toBeLessThan(1000)
    // Every seat listed would be 5 MB: refused, with the way out in words.
    const full = await seatMap(t, fan!.headers, scheduleId, 'full')
    expect(full.statusCode).toBe(400)
    expect(json(full)).toMatchObject({ code: 'FORMAT_TOO_LARGE', field: 'format', maxSeats: 1000 })
    expect(json(full).detail).toContain('format=compact')
    expect((await seatMap(t, fan!.headers, scheduleId, 'tiny')).statusCode).toBe(400)
  })

  it('when a date has 1,000 seats, then format=full lists them; at 1,001 it is refused and compact answers', async () => {
    const { concertId, scheduleId } = await createConcert(t, { sections: [{ name: 'A', rows: 10, seatsPerRow: 100, price: 1000 }] })
    const [fan] = await admittedFans(t, concertId, 1)
    const full = json(await seatMap(t, fan!.headers, scheduleId, 'full'))
    expect(full.seats).toHaveLength(1000)
    expect(full.seats[999]).toEqual({ seatNo: 1000, section: 'A', row: 10, price: 1000, status: 'AVAILABLE' })

    const larger = await createConcert(t, {
      sections: [
        { name: 'A', rows: 10, seatsPerRow: 100, price: 1000 },
        { name: 'B', rows: 1, seatsPerRow: 1, price: 1000 },
      ],
    })
    const [other] = await admittedFans(t, larger.concertId, 1)
    const refused = await seatMap(t, other!.headers, larger.scheduleId, 'full')
    expect(refused.statusCode).toBe(400)
    expect(refused.headers['content-type']).toContain('application/problem+json')
    expect(json(refused)).toMatchObject({ status: 400, code: 'FORMAT_TOO_LARGE', field: 'format' })
    expect(json(await seatMap(t, other!.headers, larger.scheduleId)).sections).toHaveLength(2)
  })

  it('when the sweep runs, then expired holds are marked EXPIRED and their seats plainly available', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    await holdSeat(t, fan!.headers, scheduleId, 3)
    t.clock.advanceSeconds(121)
    expect(await t.app.components.reservations.sweep()).toBeGreaterThanOrEqual(1)
    const db = t.app.components.database.db
    const seat = await db
      .selectFrom('seats')
      .selectAll()
      .where('schedule_id', '=', scheduleId)
      .where('seat_no', '=', 3)
      .executeTakeFirstOrThrow()
    expect(seat).toMatchObject({ status: 'AVAILABLE', reservation_id: null, held_until: null })
    const row = await db.selectFrom('reservations').select('status').where('schedule_id', '=', scheduleId).executeTakeFirstOrThrow()
    expect(row.status).toBe('EXPIRED')
  })
})
