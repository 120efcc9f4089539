import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { CANCEL_SETTLE_MS } from '../../src/payment/refunds.js'
import {
  admin,
  admittedFans,
  chargeBalance,
  createConcert,
  type Fan,
  holdSeat,
  json,
  pay,
  queuedFans,
  queueStatus,
  readBalance,
  seatMap,
  sharedTestApp,
  type TestApp,
} from '../support/app.js'
import { databaseTargets } from '../support/stores.js'

const env = { QUEUE_ADMIT_PER_TICK: '1000', QUEUE_MAX_ACTIVE: '10000', HOLD_TTL_S: '120', QUEUE_STRATEGY: 'hybrid' }
const DAY_MS = 24 * 3600 * 1000

const setPolicy = (t: TestApp, concertId: string, refundPolicy: unknown) =>
  t.app.inject({ method: 'PATCH', url: `/v1/admin/concerts/${concertId}`, headers: admin, payload: { refundPolicy } })

const refund = (t: TestApp, fan: { auth: Record<string, string> }, reservationId: string, key?: string) =>
  t.app.inject({
    method: 'POST',
    url: `/v1/reservations/${reservationId}/refund`,
    headers: { ...fan.auth, ...(key ? { 'idempotency-key': key } : {}) },
  })

const cancel = (t: TestApp, scheduleId: string, method: 'POST' | 'GET' = 'POST') =>
  t.app.inject({ method, url: `/v1/admin/schedules/${scheduleId}/cancellation`, headers: admin })

/** A fan who holds and pays for `seatNo`: their reservation id. */
async function paidSeat(t: TestApp, fan: Fan, scheduleId: string, seatNo: number, price = 50_000): Promise<string> {
  await chargeBalance(t, fan.auth, price)
  const held = await holdSeat(t, fan.headers, scheduleId, seatNo)
  expect(held.statusCode).toBe(201)
  const { reservationId } = json(held)
  expect((await pay(t, fan.headers, reservationId)).statusCode).toBe(201)
  return reservationId
}

/** The whole deployment's money: every balance equals its ledger, and charges − payments + refunds equal the balances. */
async function money(t: TestApp) {
  const { rows } = await sql<{ balances: number; charges: number; payments: number; refunds: number; mismatched: number }>`
    select
      (select coalesce(sum(balance), 0) from wallets)::bigint as balances,
      (select coalesce(sum(amount), 0) from balance_ledger where kind = 'CHARGE')::bigint as charges,
      (select coalesce(-sum(amount), 0) from balance_ledger where kind = 'PAYMENT')::bigint as payments,
      (select coalesce(sum(amount), 0) from balance_ledger where kind = 'REFUND')::bigint as refunds,
      (select count(*) from wallets w
        where w.balance <> (select coalesce(sum(amount), 0) from balance_ledger l where l.user_id = w.user_id))::int as mismatched
  `.execute(t.app.components.database.db)
  const m = rows[0]!
  return { ...m, balances: Number(m.balances), charges: Number(m.charges), payments: Number(m.payments), refunds: Number(m.refunds) }
}

async function expectMoneyInvariant(t: TestApp) {
  const m = await money(t)
  expect(m.mismatched).toBe(0)
  expect(m.balances).toBe(m.charges - m.payments + m.refunds)
}

/** The events of a type whose data names one of `ids` (the app is shared by the file's tests). */
async function eventsOf(t: TestApp, type: string, ids: string[]) {
  await t.app.components.events.relay.runOnce()
  const res = await t.app.inject({ url: '/v1/admin/events?after=0&limit=1000', headers: admin })
  return (json(res).items as { type: string; data: Record<string, unknown> }[]).filter(
    (e) => e.type === type && Object.values(e.data).some((v) => ids.includes(v as string)),
  )
}

/** Runs the cancellations' loop, as every process does, until the date is CANCELLED (moving the clock past the settle time). */
async function finishCancellations(t: TestApp) {
  await t.app.components.refunds.runCancellations()
  t.clock.advance(CANCEL_SETTLE_MS)
  await t.app.components.refunds.runCancellations()
}

describe.each(databaseTargets)('refunds and cancelled dates on $name', (target) => {
  const t = sharedTestApp(target, env)

  describe('a fan refunds a paid seat', () => {
    it('when the policy allows, then the price less the fee (rounded down) is back as a ledger entry, the seat is free and the event says so', async () => {
      const { concertId, scheduleId } = await createConcert(t, { sections: [{ name: 'A', rows: 1, seatsPerRow: 10, price: 50_001 }] })
      expect((await setPolicy(t, concertId, { refundableUntilHours: 48, feePercent: 3.33 })).statusCode).toBe(200)
      const [fan, watcher] = await admittedFans(t, concertId, 2)
      const reservationId = await paidSeat(t, fan!, scheduleId, 4, 50_001)
      expect(await readBalance(t, fan!.auth)).toBe(0)

      const res = await refund(t, fan!, reservationId)
      expect(res.statusCode).toBe(201)
      // 50,001 × (100 − 3.33) % = 48,335.9667 → 48,335 back, 1,666 kept.
      expect(json(res)).toEqual({
        refundId: expect.stringMatching(/^rfd_/),
        reservationId,
        amount: 48_335,
        fee: 1_666,
        balance: 48_335,
        status: 'REFUNDED',
      })
      expect(await readBalance(t, fan!.auth)).toBe(48_335)
      const history = json(await t.app.inject({ url: '/v1/me/balance/history', headers: fan!.auth })).items
      expect(history[0]).toMatchObject({ kind: 'REFUND', amount: 48_335, balanceAfter: 48_335 })
      const mine = json(await t.app.inject({ url: '/v1/me/reservations', headers: fan!.auth })).items
      expect(mine.find((r: { reservationId: string }) => r.reservationId === reservationId).status).toBe('REFUNDED')
      // The fan's queue token ended with the payment; a fan still admitted sees the seat free.
      const map = json(await seatMap(t, watcher!.headers, scheduleId))
      expect(map.seats.find((s: { seatNo: number }) => s.seatNo === 4).status).toBe('AVAILABLE')
      const [event] = await eventsOf(t, 'payment.refunded', [reservationId])
      expect(event!.data).toEqual({ ...json(res), userId: fan!.userId })
      await expectMoneyInvariant(t)
    })

    it('when asked again, then 409 ALREADY_REFUNDED; with the same Idempotency-Key the first answer again; the money moved once', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      await setPolicy(t, concertId, { refundableUntilHours: 0, feePercent: 0 })
      const [fan] = await admittedFans(t, concertId, 1)
      const reservationId = await paidSeat(t, fan!, scheduleId, 1)
      const first = await refund(t, fan!, reservationId, 'refund-1')
      expect(first.statusCode).toBe(201)
      expect(json(await refund(t, fan!, reservationId, 'refund-1'))).toEqual(json(first))
      const again = await refund(t, fan!, reservationId)
      expect(again.statusCode).toBe(409)
      expect(json(again).code).toBe('ALREADY_REFUNDED')
      expect(await readBalance(t, fan!.auth)).toBe(50_000)
      expect(await eventsOf(t, 'payment.refunded', [reservationId])).toHaveLength(1)
    })

    it('when the concert has no policy, the date is too near, the seat is only held, or it is not yours, then the right refusal and nothing changes', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [fan, other] = await admittedFans(t, concertId, 2)
      const paid = await paidSeat(t, fan!, scheduleId, 1)
      const noPolicy = await refund(t, fan!, paid)
      expect([noPolicy.statusCode, json(noPolicy).code]).toEqual([409, 'REFUND_NOT_ALLOWED'])

      // The date starts in 30 days: 721 hours before it, refunds have closed.
      await setPolicy(t, concertId, { refundableUntilHours: 721, feePercent: 10 })
      const tooLate = await refund(t, fan!, paid)
      expect([tooLate.statusCode, json(tooLate).code]).toEqual([409, 'REFUND_NOT_ALLOWED'])
      expect(json(tooLate).refundableUntil).toBe(new Date(Date.parse(json(tooLate).refundableUntil)).toISOString())

      await setPolicy(t, concertId, { refundableUntilHours: 24, feePercent: 10 })
      const held = json(await holdSeat(t, other!.headers, scheduleId, 2)).reservationId
      const notPaid = await refund(t, other!, held)
      expect([notPaid.statusCode, json(notPaid).code]).toEqual([409, 'NOT_PAID'])
      const notYours = await refund(t, other!, paid)
      expect([notYours.statusCode, json(notYours).code]).toEqual([404, 'NOT_FOUND'])
      const unknown = await refund(t, fan!, 'rsv_nope')
      expect(unknown.statusCode).toBe(404)
      const anonymous = await t.app.inject({ method: 'POST', url: `/v1/reservations/${paid}/refund` })
      expect(anonymous.statusCode).toBe(401)

      expect(await readBalance(t, fan!.auth)).toBe(0)
      expect(await eventsOf(t, 'payment.refunded', [paid])).toEqual([])
      const mine = json(await t.app.inject({ url: '/v1/me/reservations', headers: fan!.auth })).items
      expect(mine[0].status).toBe('CONFIRMED')
    })

    it.each([
      [{ refundableUntilHours: 24, feePercent: -1 }, 'refundPolicy/feePercent'],
      [{ refundableUntilHours: 24, feePercent: 100.5 }, 'refundPolicy/feePercent'],
      [{ refundableUntilHours: 8761, feePercent: 10 }, 'refundPolicy/refundableUntilHours'],
      [{ refundableUntilHours: -1, feePercent: 10 }, 'refundPolicy/refundableUntilHours'],
      [{ refundableUntilHours: 24 }, 'refundPolicy'],
      [{ refundableUntilHours: 24, feePercent: 10, extra: 1 }, 'refundPolicy'],
    ])('when the refund policy is %j, then 400 names %s and the concert is unchanged', async (policy, field) => {
      const { concertId } = await createConcert(t)
      const res = await setPolicy(t, concertId, policy)
      expect(res.statusCode).toBe(400)
      expect(json(res).field).toContain(field.split('/')[0])
      const listed = json(await t.app.inject({ url: '/v1/concerts' })).items.find((c: { concertId: string }) => c.concertId === concertId)
      expect(listed.refundPolicy).toBeNull()
    })

    it('when a policy is set at creation and removed by PATCH, then the concert shows it, then null', async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/v1/admin/concerts',
        headers: admin,
        payload: { title: 'T', performer: 'P', venue: 'V', refundPolicy: { refundableUntilHours: 72, feePercent: 12.5 } },
      })
      const { concertId } = json(created)
      const listed = async () =>
        json(await t.app.inject({ url: '/v1/concerts' })).items.find((c: { concertId: string }) => c.concertId === concertId)
      expect((await listed()).refundPolicy).toEqual({ refundableUntilHours: 72, feePercent: 12.5 })
      expect((await setPolicy(t, concertId, null)).statusCode).toBe(200)
      expect((await listed()).refundPolicy).toBeNull()
    })
  })

  describe('an operator cancels a date', () => {
    it('when a date with paid and held seats is cancelled, then it closes at once, every payment comes back in full, holds are released, and it ends CANCELLED', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const other = await t.app.inject({
        method: 'POST',
        url: `/v1/admin/concerts/${concertId}/schedules`,
        headers: admin,
        payload: {
          startsAt: new Date(t.clock.now() + 40 * DAY_MS).toISOString(),
          sections: [{ name: 'B', rows: 1, seatsPerRow: 5, price: 10 }],
        },
      })
      const otherId = json(other).scheduleId
      const fans = await admittedFans(t, concertId, 4)
      const paid = [await paidSeat(t, fans[0]!, scheduleId, 1), await paidSeat(t, fans[1]!, scheduleId, 2)]
      const held = json(await holdSeat(t, fans[2]!.headers, scheduleId, 3)).reservationId
      await chargeBalance(t, fans[2]!.auth, 50_000)

      const res = await cancel(t, scheduleId)
      expect(res.statusCode).toBe(202)
      expect(json(res)).toEqual({ scheduleId, status: 'CANCELLING', refunded: 0, toRefund: 2 })
      // Closed from the answer on: no hold, no payment, gone from the list of dates.
      const hold = await holdSeat(t, fans[3]!.headers, scheduleId, 9)
      expect([hold.statusCode, json(hold).code]).toEqual([409, 'SCHEDULE_CANCELLED'])
      const payHeld = await pay(t, fans[2]!.headers, held)
      expect([payHeld.statusCode, json(payHeld).code]).toEqual([409, 'SCHEDULE_CANCELLED'])
      const dates = json(await t.app.inject({ url: `/v1/concerts/${concertId}/schedules`, headers: fans[3]!.headers })).items
      expect(dates.map((d: { scheduleId: string }) => d.scheduleId)).toEqual([otherId])
      // Operators still see it, cancelled, with nothing left to sell.
      const operators = json(await t.app.inject({ url: `/v1/admin/concerts/${concertId}/schedules`, headers: admin })).items
      expect(operators.map((d: { scheduleId: string; status: string }) => [d.scheduleId, d.status])).toEqual([
        [scheduleId, 'CANCELLING'],
        [otherId, 'ON_SALE'],
      ])
      // A fan's own refund would keep a fee: the cancellation refunds in full instead.
      await setPolicy(t, concertId, { refundableUntilHours: 0, feePercent: 50 })
      const own = await refund(t, fans[0]!, paid[0]!)
      expect([own.statusCode, json(own).code]).toEqual([409, 'SCHEDULE_CANCELLED'])

      await finishCancellations(t)
      expect(json(await cancel(t, scheduleId, 'GET'))).toEqual({ scheduleId, status: 'CANCELLED', refunded: 2, toRefund: 2 })
      expect(await readBalance(t, fans[0]!.auth)).toBe(50_000)
      expect(await readBalance(t, fans[1]!.auth)).toBe(50_000)
      const states = async (f: Fan) =>
        json(await t.app.inject({ url: '/v1/me/reservations', headers: f.auth })).items.map((r: { status: string }) => r.status)
      expect(await states(fans[0]!)).toEqual(['REFUNDED'])
      expect(await states(fans[2]!)).toEqual(['RELEASED'])
      const { rows } = await sql<{
        n: number
      }>`select count(*)::int as n from seats where schedule_id = ${scheduleId} and status <> 'AVAILABLE'`.execute(
        t.app.components.database.db,
      )
      expect(rows[0]!.n).toBe(0)
      // Asking again changes nothing.
      expect(json(await cancel(t, scheduleId))).toEqual({ scheduleId, status: 'CANCELLED', refunded: 2, toRefund: 2 })
      expect((await eventsOf(t, 'schedule.cancelled', [scheduleId])).map((e) => e.data)).toEqual([
        { scheduleId, concertId, startsAt: expect.any(String) },
      ])
      const refunds = await eventsOf(t, 'payment.refunded', paid)
      expect(refunds.map((e) => [e.data.reservationId, e.data.fee]).sort()).toEqual(paid.map((id) => [id, 0]).sort())
      await expectMoneyInvariant(t)
    })

    it('when the date is unknown, or on sale, then 404; without the admin key 401', async () => {
      const { scheduleId } = await createConcert(t)
      expect((await cancel(t, 'sch_nope')).statusCode).toBe(404)
      expect((await cancel(t, scheduleId, 'GET')).statusCode).toBe(404)
      const anonymous = await t.app.inject({ method: 'POST', url: `/v1/admin/schedules/${scheduleId}/cancellation` })
      expect(anonymous.statusCode).toBe(401)
      expect((await cancel(t, scheduleId, 'GET')).statusCode).toBe(404)
    })
  })

  describe('seats that come back go to the line first', () => {
    it('when a sold-out concert gets three seats back, then the first three fans waiting, in line order, are admitted and nobody else', async () => {
      const { concertId, scheduleId } = await createConcert(t, { sections: [{ name: 'A', rows: 1, seatsPerRow: 5, price: 1000 }] })
      await setPolicy(t, concertId, { refundableUntilHours: 0, feePercent: 0 })
      // Five seats: of eleven fans in line, the first five are admitted, one a seat.
      const buyers = await queuedFans(t, concertId, 5)
      const waiting = await queuedFans(t, concertId, 6)
      await tickOnce(t)
      const paid: string[] = []
      for (const [i, fan] of buyers.entries()) paid.push(await paidSeat(t, fan, scheduleId, i + 1, 1000))
      await tickOnce(t)
      const statuses = async () => Promise.all(waiting.map(async (f) => json(await queueStatus(t, f.queueToken)).status))
      expect(await statuses()).toEqual(Array(6).fill('SOLD_OUT'))

      for (const id of paid.slice(0, 3)) expect((await refund(t, buyers[paid.indexOf(id)]!, id)).statusCode).toBe(201)
      await tickOnce(t)
      await tickOnce(t)
      expect(await statuses()).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 'WAITING', 'WAITING', 'WAITING'])
      const positions = await Promise.all(waiting.slice(3).map(async (f) => json(await queueStatus(t, f.queueToken)).position))
      expect(positions).toEqual([1, 2, 3])
    })
  })
})

/** One admission pass a tick later, with the seat counts read fresh. */
async function tickOnce(t: TestApp) {
  t.clock.advance(Math.max(t.config.queue.tickMs, 1000))
  await t.app.components.queue.tick()
}
