import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  admin,
  admittedFans,
  chargeBalance,
  createConcert,
  type Fan,
  holdSeat,
  http,
  json,
  listen,
  pay,
  sharedTestApp,
  type TestApp,
} from '../support/app.js'
import { databaseTargets } from '../support/stores.js'

const env = { QUEUE_ADMIT_PER_TICK: '1000', QUEUE_MAX_ACTIVE: '10000', HOLD_TTL_S: '120' }
const PRICE = 40_000

async function paidSeats(t: TestApp, fans: Fan[], scheduleId: string): Promise<string[]> {
  const ids: string[] = []
  for (const [i, fan] of fans.entries()) {
    await chargeBalance(t, fan.auth, PRICE)
    const { reservationId } = json(await holdSeat(t, fan.headers, scheduleId, i + 1))
    expect((await pay(t, fan.headers, reservationId)).statusCode).toBe(201)
    ids.push(reservationId)
  }
  return ids
}

/** Refunds written per reservation, and whether every balance equals its ledger and charges − payments + refunds equal the balances. */
async function books(t: TestApp, reservationIds: string[]) {
  const db = t.app.components.database.db
  const { rows } = await sql<{ reservation_id: string; n: number }>`
    select reservation_id, count(*)::int as n from refunds where reservation_id = any(${reservationIds}::text[]) group by reservation_id`.execute(
    db,
  )
  const { rows: money } = await sql<{ balances: string; flows: string; mismatched: number }>`
    select (select coalesce(sum(balance), 0) from wallets) as balances,
      (select coalesce(sum(amount), 0) from balance_ledger) as flows,
      (select count(*)::int from wallets w
        where w.balance <> (select coalesce(sum(amount), 0) from balance_ledger l where l.user_id = w.user_id)) as mismatched`.execute(db)
  return { refunds: Object.fromEntries(rows.map((r) => [r.reservation_id, r.n])), ...money[0]! }
}

describe.each(databaseTargets)('refunds under concurrency on $name', (target) => {
  const t = sharedTestApp(target, env)
  let base: string
  beforeAll(async () => {
    base = await listen(t.app)
  })
  const refundOverHttp = (fan: Fan, reservationId: string, key?: string) =>
    http(base, 'POST', `/v1/reservations/${reservationId}/refund`, { headers: { ...fan.auth, ...(key ? { 'idempotency-key': key } : {}) } })

  it('when 20 refunds of one payment arrive at once, then one refunds it and the others are told it is already refunded', async () => {
    const { concertId, scheduleId } = await createConcert(t, { sections: [{ name: 'A', rows: 2, seatsPerRow: 10, price: PRICE }] })
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/admin/concerts/${concertId}`,
      headers: admin,
      payload: { refundPolicy: { refundableUntilHours: 1, feePercent: 5 } },
    })
    const [fan] = await admittedFans(t, concertId, 1)
    const [id] = await paidSeats(t, [fan!], scheduleId)
    const answers = await Promise.all(Array.from({ length: 20 }, () => refundOverHttp(fan!, id!)))
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1)
    expect(answers.filter((a) => a.status === 409).map((a) => a.body.code)).toEqual(Array(19).fill('ALREADY_REFUNDED'))
    const { refunds, balances, flows, mismatched } = await books(t, [id!])
    expect(refunds).toEqual({ [id!]: 1 })
    expect([balances, mismatched]).toEqual([flows, 0])
    expect(json(await t.app.inject({ url: '/v1/me/balance', headers: fan!.auth })).balance).toBe(38_000)
  })

  it('when 20 retries with one Idempotency-Key arrive at once, then one refund, and every answer that is not "in progress" is the same', async () => {
    const { concertId, scheduleId } = await createConcert(t, { sections: [{ name: 'A', rows: 2, seatsPerRow: 10, price: PRICE }] })
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/admin/concerts/${concertId}`,
      headers: admin,
      payload: { refundPolicy: { refundableUntilHours: 1, feePercent: 0 } },
    })
    const [fan] = await admittedFans(t, concertId, 1)
    const [id] = await paidSeats(t, [fan!], scheduleId)
    const answers = await Promise.all(Array.from({ length: 20 }, () => refundOverHttp(fan!, id!, 'same-key')))
    const done = answers.filter((a) => a.status === 201)
    expect(done.length).toBeGreaterThanOrEqual(1)
    expect(new Set(done.map((a) => JSON.stringify(a.body))).size).toBe(1)
    expect(answers.filter((a) => a.status !== 201).map((a) => a.body.code)).toEqual(Array(20 - done.length).fill('IDEMPOTENCY_IN_PROGRESS'))
    expect((await books(t, [id!])).refunds).toEqual({ [id!]: 1 })
  })

  it('when fans refund while their date is being cancelled, then each payment is refunded once, by the one or the other', async () => {
    const { concertId, scheduleId } = await createConcert(t, { sections: [{ name: 'A', rows: 2, seatsPerRow: 10, price: PRICE }] })
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/admin/concerts/${concertId}`,
      headers: admin,
      payload: { refundPolicy: { refundableUntilHours: 1, feePercent: 10 } },
    })
    const fans = await admittedFans(t, concertId, 12)
    const ids = await paidSeats(t, fans, scheduleId)
    const [refunds, cancelled] = await Promise.all([
      Promise.all(fans.map((f, i) => refundOverHttp(f, ids[i]!))),
      http(base, 'POST', `/v1/admin/schedules/${scheduleId}/cancellation`, { headers: admin }).then(async (res) => {
        await t.app.components.refunds.runCancellations()
        return res
      }),
    ])
    expect(cancelled.status).toBe(202)
    for (const r of refunds) expect([201, 409]).toContain(r.status)
    expect(refunds.filter((r) => r.status === 409).every((r) => ['SCHEDULE_CANCELLED', 'ALREADY_REFUNDED'].includes(r.body.code))).toBe(
      true,
    )
    await t.app.components.refunds.runCancellations()
    const after = await books(t, ids)
    expect(after.refunds).toEqual(Object.fromEntries(ids.map((id) => [id, 1])))
    expect([after.balances, after.mismatched]).toEqual([after.flows, 0])
    // A fan who refunded first kept 90 %; the others got it all back.
    for (const [i, fan] of fans.entries()) {
      const balance = json(await t.app.inject({ url: '/v1/me/balance', headers: fan.auth })).balance
      expect(balance).toBe(refunds[i]!.status === 201 ? 36_000 : PRICE)
    }
  })
})
