import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import {
  admin,
  admitTick,
  admittedFans,
  chargeBalance,
  createConcert,
  createUser,
  holdSeat,
  joinQueue,
  json,
  pay,
  queueStatus,
  readBalance,
  seatMap,
  sharedTestApp,
  type TestApp,
} from '../support/app.js'
import { databaseTargets } from '../support/stores.js'

const env = { QUEUE_ADMIT_PER_TICK: '1000', QUEUE_MAX_ACTIVE: '10000', HOLD_TTL_S: '120', QUEUE_STRATEGY: 'hybrid' }

/** The operator's payment integration credits a user, as it does once the provider confirms a payment. */
function credit(t: TestApp, userId: string, amount: unknown, key?: string, headers: Record<string, string> = admin) {
  return t.app.inject({
    method: 'POST',
    url: `/v1/admin/users/${encodeURIComponent(userId)}/balance/charges`,
    headers: { ...headers, ...(key ? { 'idempotency-key': key } : {}) },
    payload: { amount },
  })
}

/** A user's wallet as the database holds it: the balance, its ledger's sum and entries, and the user's stored idempotency keys. */
async function walletRows(t: TestApp, userId: string) {
  const { rows } = await sql<{ balance: number | null; ledger_sum: number; entries: number; keys: number }>`
    select
      (select balance from wallets where user_id = ${userId})::int as balance,
      (select coalesce(sum(amount), 0) from balance_ledger where user_id = ${userId})::int as ledger_sum,
      (select count(*) from balance_ledger where user_id = ${userId})::int as entries,
      (select count(*) from idempotency_keys where user_id = ${userId})::int as keys`.execute(t.app.components.database.db)
  return rows[0]!
}

describe.each(databaseTargets)('balance and payment on $name', (target) => {
  const t = sharedTestApp(target, env)

  const history = async (auth: Record<string, string>, query = '') =>
    json(await t.app.inject({ url: `/v1/me/balance/history${query}`, headers: auth }))

  describe('balance', () => {
    it('when a user charges, then the balance and the ledger move together', async () => {
      const u = await createUser(t)
      expect(await readBalance(t, u.auth)).toBe(0)
      const res = await chargeBalance(t, u.auth, 30_000)
      expect(res.statusCode).toBe(200)
      expect(json(res)).toEqual({ chargeId: expect.stringMatching(/^chg_/), amount: 30_000, balance: 30_000 })
      expect(json(await chargeBalance(t, u.auth, 100_000_000)).balance).toBe(100_030_000)
      const { items, nextCursor } = await history(u.auth)
      expect(items.map((e: { kind: string; amount: number; balanceAfter: number }) => [e.kind, e.amount, e.balanceAfter])).toEqual([
        ['CHARGE', 100_000_000, 100_030_000],
        ['CHARGE', 30_000, 30_000],
      ])
      expect(nextCursor).toBeNull()
    })

    it.each([0, -1, 100_000_001, '100', 1.5, null])('when the amount is %s, then 400 names it and nothing changes', async (amount) => {
      const u = await createUser(t)
      const res = await chargeBalance(t, u.auth, amount)
      expect(res.statusCode).toBe(400)
      expect(json(res)).toMatchObject({ code: 'VALIDATION_FAILED', field: 'amount' })
      expect(await readBalance(t, u.auth)).toBe(0)
      expect((await history(u.auth)).items).toEqual([])
    })

    it('when history is paged, then pages are newest first and the cursor continues without overlap', async () => {
      const u = await createUser(t)
      for (let i = 1; i <= 5; i++) await chargeBalance(t, u.auth, i)
      const first = await history(u.auth, '?limit=2')
      const second = await history(u.auth, `?limit=2&cursor=${first.nextCursor}`)
      const third = await history(u.auth, `?limit=2&cursor=${second.nextCursor}`)
      expect([...first.items, ...second.items, ...third.items].map((e: { amount: number }) => e.amount)).toEqual([5, 4, 3, 2, 1])
      expect(third.nextCursor).toBeNull()
      for (const query of ['?limit=0', '?limit=1001', '?cursor=bogus!', '?limit=ten']) {
        expect((await t.app.inject({ url: `/v1/me/balance/history${query}`, headers: u.auth })).statusCode, query).toBe(400)
      }
    })

    it("when another user's token is used, then they see only their own balance", async () => {
      const a = await createUser(t)
      const b = await createUser(t)
      await chargeBalance(t, a.auth, 500)
      expect(await readBalance(t, b.auth)).toBe(0)
      expect((await history(b.auth)).items).toEqual([])
      expect((await t.app.inject({ url: '/v1/me/balance' })).statusCode).toBe(401)
    })
  })

  describe('Idempotency-Key on charges', () => {
    it('when a charge is retried with its key, then the first answer is replayed and money moves once', async () => {
      const u = await createUser(t)
      const first = json(await chargeBalance(t, u.auth, 7000, 'charge-1'))
      const again = await chargeBalance(t, u.auth, 7000, 'charge-1')
      expect(again.statusCode).toBe(200)
      expect(json(again)).toEqual(first)
      expect(await readBalance(t, u.auth)).toBe(7000)
    })

    it('when the key is reused with another body, then 422 and nothing changes', async () => {
      const u = await createUser(t)
      await chargeBalance(t, u.auth, 7000, 'charge-2')
      expect(json(await chargeBalance(t, u.auth, 8000, 'charge-2'))).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' })
      expect(await readBalance(t, u.auth)).toBe(7000)
    })

    it('when the same key is used by another user, then it is theirs alone', async () => {
      const a = await createUser(t)
      const b = await createUser(t)
      await chargeBalance(t, a.auth, 100, 'shared-key')
      expect(json(await chargeBalance(t, b.auth, 200, 'shared-key')).balance).toBe(200)
    })

    it('when the operator credits a fan while fans may top up, then both land on one ledger and the same key text on the two routes is two charges', async () => {
      const u = await createUser(t)
      expect(json(await t.app.inject({ url: '/v1/me/balance', headers: u.auth }))).toEqual({
        userId: u.userId,
        balance: 0,
        charges: 'open',
      })
      expect(json(await chargeBalance(t, u.auth, 1000, 'same-text')).balance).toBe(1000)
      expect(json(await credit(t, u.userId, 2000, 'same-text')).balance).toBe(3000)
      expect(json(await credit(t, u.userId, 2000, 'same-text')).balance).toBe(3000)
      expect((await history(u.auth)).items.map((e: { kind: string; amount: number }) => [e.kind, e.amount])).toEqual([
        ['CHARGE', 2000],
        ['CHARGE', 1000],
      ])
      expect(await walletRows(t, u.userId)).toMatchObject({ balance: 3000, ledger_sum: 3000 })
    })

    it('when the key is malformed, then 400 names the header', async () => {
      const u = await createUser(t)
      for (const key of ['with space', 'x'.repeat(256), 'tab\there']) {
        const res = await chargeBalance(t, u.auth, 100, key)
        expect(res.statusCode).toBe(400)
        expect(json(res).field).toBe('idempotency-key')
      }
      expect(await readBalance(t, u.auth)).toBe(0)
    })
  })

  describe('payment', () => {
    it('when an admitted fan pays a live hold, then the seat is sold, the balance and ledger drop, and the token ends', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [fan] = await admittedFans(t, concertId, 1)
      await chargeBalance(t, fan!.auth, 120_000)
      const held = json(await holdSeat(t, fan!.headers, scheduleId, 5))
      const res = await pay(t, fan!.headers, held.reservationId)
      expect(res.statusCode).toBe(201)
      expect(json(res)).toEqual({
        paymentId: expect.stringMatching(/^pay_/),
        reservationId: held.reservationId,
        amount: 50_000,
        balance: 70_000,
        status: 'PAID',
      })
      const mine = json(await t.app.inject({ url: '/v1/me/reservations', headers: fan!.auth }))
      expect(mine.items[0]).toMatchObject({ reservationId: held.reservationId, status: 'CONFIRMED' })
      expect((await history(fan!.auth)).items[0]).toMatchObject({ kind: 'PAYMENT', amount: -50_000, balanceAfter: 70_000 })
      const status = json(await queueStatus(t, fan!.queueToken))
      expect(status.status).toBe('EXPIRED')
      const map = json(await seatMap(t, fan!.headers, scheduleId))
      expect(map).toMatchObject({ status: 401, code: 'QUEUE_TOKEN_EXPIRED' })
    })

    it('when the token ended by a payment, then it may still pay the other live holds taken under it, and nothing else', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [fan] = await admittedFans(t, concertId, 1)
      await chargeBalance(t, fan!.auth, 200_000)
      const a = json(await holdSeat(t, fan!.headers, scheduleId, 1))
      const b = json(await holdSeat(t, fan!.headers, scheduleId, 2))
      expect((await pay(t, fan!.headers, a.reservationId)).statusCode).toBe(201)
      expect((await pay(t, fan!.headers, b.reservationId)).statusCode).toBe(201)
      expect(json(await pay(t, fan!.headers, b.reservationId))).toMatchObject({ status: 401, code: 'QUEUE_TOKEN_EXPIRED' })
      const c = await holdSeat(t, fan!.headers, scheduleId, 3)
      expect(json(c)).toMatchObject({ status: 401, code: 'QUEUE_TOKEN_EXPIRED' })
    })

    it('when the balance is short, then 409 INSUFFICIENT_BALANCE and nothing changes', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [fan] = await admittedFans(t, concertId, 1)
      await chargeBalance(t, fan!.auth, 49_999)
      const held = json(await holdSeat(t, fan!.headers, scheduleId, 5))
      expect(json(await pay(t, fan!.headers, held.reservationId))).toMatchObject({ status: 409, code: 'INSUFFICIENT_BALANCE' })
      expect(await readBalance(t, fan!.auth)).toBe(49_999)
      const mine = json(await t.app.inject({ url: '/v1/me/reservations', headers: fan!.auth }))
      expect(mine.items[0].status).toBe('HELD')
      await chargeBalance(t, fan!.auth, 1)
      expect((await pay(t, fan!.headers, held.reservationId)).statusCode).toBe(201)
      expect(await readBalance(t, fan!.auth)).toBe(0)
    })

    it('when the hold expired, was released, or was paid, then 409 with the reason and no money moves', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [fan, other] = await admittedFans(t, concertId, 2)
      await chargeBalance(t, fan!.auth, 1_000_000)
      const released = json(await holdSeat(t, fan!.headers, scheduleId, 1))
      await t.app.inject({ method: 'DELETE', url: `/v1/reservations/${released.reservationId}`, headers: fan!.auth })
      expect(json(await pay(t, fan!.headers, released.reservationId))).toMatchObject({ status: 409, code: 'HOLD_RELEASED' })
      const expiring = json(await holdSeat(t, fan!.headers, scheduleId, 2))
      t.clock.advanceSeconds(120)
      expect(json(await pay(t, fan!.headers, expiring.reservationId))).toMatchObject({ status: 409, code: 'HOLD_EXPIRED' })
      expect(await readBalance(t, fan!.auth)).toBe(1_000_000)
      expect(json(await pay(t, other!.headers, expiring.reservationId))).toMatchObject({ status: 404 })
    })

    it("when someone pays another user's hold, then 404, not 403", async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [fan, thief] = await admittedFans(t, concertId, 2)
      await chargeBalance(t, thief!.auth, 1_000_000)
      const held = json(await holdSeat(t, fan!.headers, scheduleId, 4))
      expect(json(await pay(t, thief!.headers, held.reservationId))).toMatchObject({ status: 404, code: 'NOT_FOUND' })
      expect(await readBalance(t, thief!.auth)).toBe(1_000_000)
    })

    it("when a fan pays a hold of one concert with another concert's token, then 403 and nothing moves", async () => {
      const a = await createConcert(t)
      const b = await createConcert(t)
      const [fan] = await admittedFans(t, a.concertId, 1)
      const joined = json(await joinQueue(t, b.concertId, fan!.auth))
      await admitTick(t)
      await chargeBalance(t, fan!.auth, 100_000)
      const held = json(await holdSeat(t, fan!.headers, a.scheduleId, 1))
      const res = await pay(t, { ...fan!.auth, 'queue-token': joined.token }, held.reservationId)
      expect(json(res)).toMatchObject({ status: 403, code: 'QUEUE_TOKEN_WRONG_CONCERT' })
      expect(await readBalance(t, fan!.auth)).toBe(100_000)
      expect((await pay(t, fan!.headers, held.reservationId)).statusCode).toBe(201)
    })

    it('when a paid payment is retried with its key after the token ended, then it is replayed before the gate', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [fan] = await admittedFans(t, concertId, 1)
      await chargeBalance(t, fan!.auth, 100_000)
      const held = json(await holdSeat(t, fan!.headers, scheduleId, 8))
      const first = await pay(t, fan!.headers, held.reservationId, 'pay-8')
      expect(first.statusCode).toBe(201)
      const retry = await pay(t, { ...fan!.auth }, held.reservationId, 'pay-8')
      expect(retry.statusCode).toBe(201)
      expect(json(retry)).toEqual(json(first))
      expect(json(await pay(t, fan!.headers, 'rsv_other', 'pay-8'))).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' })
      expect(await readBalance(t, fan!.auth)).toBe(50_000)
    })

    it('when a refused payment is retried with its key, then the same refusal is replayed', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [fan] = await admittedFans(t, concertId, 1)
      const held = json(await holdSeat(t, fan!.headers, scheduleId, 8))
      expect(json(await pay(t, fan!.headers, held.reservationId, 'pay-poor'))).toMatchObject({ code: 'INSUFFICIENT_BALANCE' })
      await chargeBalance(t, fan!.auth, 100_000)
      expect(json(await pay(t, fan!.headers, held.reservationId, 'pay-poor'))).toMatchObject({ status: 409, code: 'INSUFFICIENT_BALANCE' })
      expect((await pay(t, fan!.headers, held.reservationId, 'pay-rich')).statusCode).toBe(201)
    })

    it('when one payment arrives many times at once with its key, then money moves once: each answer is that payment or 409 IDEMPOTENCY_IN_PROGRESS', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [fan] = await admittedFans(t, concertId, 1)
      await chargeBalance(t, fan!.auth, 100_000)
      const held = json(await holdSeat(t, fan!.headers, scheduleId, 9))
      const answers = await Promise.all(Array.from({ length: 12 }, () => pay(t, fan!.headers, held.reservationId, 'pay-burst')))
      const paid = answers.filter((a) => a.statusCode === 201).map((a) => json(a))
      expect(paid.length).toBeGreaterThan(0)
      for (const body of paid) expect(body).toEqual(paid[0])
      for (const a of answers.filter((a) => a.statusCode !== 201)) {
        expect(json(a)).toMatchObject({ status: 409, code: 'IDEMPOTENCY_IN_PROGRESS' })
      }
      expect(json(await pay(t, fan!.headers, held.reservationId, 'pay-burst'))).toEqual(paid[0])
      expect(await walletRows(t, fan!.userId)).toMatchObject({ balance: 50_000, ledger_sum: 50_000, entries: 2 })
      const { rows } = await sql<{
        n: number
      }>`select count(*)::int as n from payments where reservation_id = ${held.reservationId}`.execute(t.app.components.database.db)
      expect(rows[0]!.n).toBe(1)
    })

    it("when a paid payment's key is retried under the fan's next ACTIVE token, then it is replayed, that token stays ACTIVE, and another body is 422", async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [fan] = await admittedFans(t, concertId, 1)
      await chargeBalance(t, fan!.auth, 100_000)
      const held = json(await holdSeat(t, fan!.headers, scheduleId, 7))
      const first = await pay(t, fan!.headers, held.reservationId, 'pay-7')
      expect(first.statusCode).toBe(201)
      const next = json(await joinQueue(t, concertId, fan!.auth))
      await admitTick(t)
      expect(json(await queueStatus(t, next.token)).status).toBe('ACTIVE')
      const headers = { ...fan!.auth, 'queue-token': next.token }
      const retry = await pay(t, headers, held.reservationId, 'pay-7')
      expect(retry.statusCode).toBe(201)
      expect(json(retry)).toEqual(json(first))
      expect(json(await queueStatus(t, next.token)).status).toBe('ACTIVE')
      expect(json(await pay(t, headers, 'rsv_other', 'pay-7'))).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' })
      expect(await readBalance(t, fan!.auth)).toBe(50_000)
    })

    it('when a payment finds its key claimed by a request that never answered, then 409 IDEMPOTENCY_IN_PROGRESS until the claim lapses, then it pays', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [fan] = await admittedFans(t, concertId, 1)
      await chargeBalance(t, fan!.auth, 100_000)
      const held = json(await holdSeat(t, fan!.headers, scheduleId, 6))
      // What a process that died mid-payment leaves: the key claimed, never answered.
      await sql`insert into idempotency_keys (user_id, route, key, request_body, answer, created_at)
        values (${fan!.userId}, 'payments', 'pay-6', ${JSON.stringify({ reservationId: held.reservationId })}::jsonb, null,
          ${new Date(t.clock.now())})`.execute(t.app.components.database.db)
      expect(json(await pay(t, fan!.headers, held.reservationId, 'pay-6'))).toMatchObject({ status: 409, code: 'IDEMPOTENCY_IN_PROGRESS' })
      expect(await readBalance(t, fan!.auth)).toBe(100_000)
      // The claim's lease, as the app sets it: longer than any live request can take.
      t.clock.advanceSeconds((4 * t.config.dbTimeoutMs + 2 * t.config.redisTimeoutMs) / 1000 + 1)
      const res = await pay(t, fan!.headers, held.reservationId, 'pay-6')
      expect(res.statusCode, res.body).toBe(201)
      expect(json(await pay(t, fan!.headers, held.reservationId, 'pay-6'))).toEqual(json(res))
      expect(await walletRows(t, fan!.userId)).toMatchObject({ balance: 50_000, ledger_sum: 50_000 })
    })
  })
})

describe.each(databaseTargets)("fans' top-ups off (CHARGES=off) and the operator's credits on $name", (target) => {
  const t = sharedTestApp(target, { CHARGES: 'off' })

  it('when a fan tops up, then 403 CHARGES_DISABLED after authentication and before the body, and nothing changes', async () => {
    const u = await createUser(t)
    await credit(t, u.userId, 5000, 'pi_before')
    const before = await walletRows(t, u.userId)
    for (const [amount, key] of [
      [1000, undefined],
      [1000, 'fan-key'],
      [100_000_000, 'fan-key-2'],
      ['not a number', undefined],
    ] as const) {
      const res = await chargeBalance(t, u.auth, amount, key)
      expect(res.statusCode, res.body).toBe(403)
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(json(res)).toMatchObject({ status: 403, code: 'CHARGES_DISABLED', type: 'urn:stagedoor:problem:charges-disabled' })
      expect(json(res).detail).toContain('/v1/admin/users/{userId}/balance/charges')
    }
    expect((await chargeBalance(t, {}, 1000)).statusCode).toBe(401)
    expect(await walletRows(t, u.userId)).toEqual(before)
    expect(before).toEqual({ balance: 5000, ledger_sum: 5000, entries: 1, keys: 1 })
    expect(json(await t.app.inject({ url: '/v1/me/balance', headers: u.auth }))).toEqual({
      userId: u.userId,
      balance: 5000,
      charges: 'off',
    })
  })

  it('when the operator credits a user, then the balance and ledger move, and a repeated confirmation replays the first answer', async () => {
    const u = await createUser(t)
    const first = await credit(t, u.userId, 70_000, 'pi_3Mtw')
    expect(first.statusCode, first.body).toBe(200)
    expect(json(first)).toEqual({ chargeId: expect.stringMatching(/^chg_/), amount: 70_000, balance: 70_000 })
    const again = await credit(t, u.userId, 70_000, 'pi_3Mtw')
    expect(again.statusCode).toBe(200)
    expect(json(again)).toEqual(json(first))
    expect(json(await credit(t, u.userId, 30_000, 'pi_3Mtx')).balance).toBe(100_000)
    expect(await readBalance(t, u.auth)).toBe(100_000)
    expect(await walletRows(t, u.userId)).toMatchObject({ balance: 100_000, ledger_sum: 100_000, entries: 2 })
    const { items } = json(await t.app.inject({ url: '/v1/me/balance/history', headers: u.auth }))
    expect(items.map((e: { kind: string; amount: number; balanceAfter: number }) => [e.kind, e.amount, e.balanceAfter])).toEqual([
      ['CHARGE', 30_000, 100_000],
      ['CHARGE', 70_000, 70_000],
    ])
  })

  it('when one confirmation arrives many times at once, then it is credited once: each answer is the first or 409 IDEMPOTENCY_IN_PROGRESS', async () => {
    const u = await createUser(t)
    const answers = await Promise.all(Array.from({ length: 12 }, () => credit(t, u.userId, 40_000, 'pi_burst')))
    const credited = answers.filter((a) => a.statusCode === 200).map((a) => json(a))
    expect(credited.length).toBeGreaterThan(0)
    for (const body of credited) expect(body).toEqual(credited[0])
    for (const a of answers.filter((a) => a.statusCode !== 200)) {
      expect(json(a)).toMatchObject({ status: 409, code: 'IDEMPOTENCY_IN_PROGRESS' })
    }
    expect(json(await credit(t, u.userId, 40_000, 'pi_burst'))).toEqual(credited[0])
    expect(await walletRows(t, u.userId)).toMatchObject({ balance: 40_000, ledger_sum: 40_000, entries: 1 })
  })

  it('when the key is reused with another amount, then 422 and nothing changes', async () => {
    const u = await createUser(t)
    await credit(t, u.userId, 7000, 'pi_reused')
    const res = await credit(t, u.userId, 8000, 'pi_reused')
    expect(json(res)).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' })
    expect(await walletRows(t, u.userId)).toMatchObject({ balance: 7000, ledger_sum: 7000, entries: 1 })
  })

  it('when the Idempotency-Key is missing or malformed, or the amount is out of bounds, then 400 names it and nothing changes', async () => {
    const u = await createUser(t)
    const missing = await credit(t, u.userId, 7000)
    expect(missing.statusCode).toBe(400)
    expect(json(missing)).toMatchObject({ code: 'VALIDATION_FAILED', field: 'idempotency-key' })
    expect(json(await credit(t, u.userId, 7000, 'with space')).field).toBe('idempotency-key')
    for (const amount of [0, 100_000_001, '100', 1.5]) {
      expect(json(await credit(t, u.userId, amount, `pi_${amount}`)), String(amount)).toMatchObject({ status: 400, field: 'amount' })
    }
    expect(await walletRows(t, u.userId)).toEqual({ balance: null, ledger_sum: 0, entries: 0, keys: 0 })
  })

  it("when the admin key is missing or wrong, or a fan's own token is sent, then 401 and nothing changes", async () => {
    const u = await createUser(t)
    for (const headers of [{}, { 'x-admin-key': 'not-the-admin-key-000' }, u.auth]) {
      const res = await credit(t, u.userId, 7000, 'pi_401', headers)
      expect(res.statusCode).toBe(401)
      expect(json(res).code).toBe('UNAUTHENTICATED')
    }
    // 401 comes before anything about the request is looked at.
    expect((await credit(t, u.userId, 'junk', undefined, {})).statusCode).toBe(401)
    expect(await walletRows(t, u.userId)).toEqual({ balance: null, ledger_sum: 0, entries: 0, keys: 0 })
  })

  it('when the user does not exist (yet), then 404 and nothing is written', async () => {
    const res = await credit(t, 'usr_never_seen', 7000, 'pi_nobody')
    expect(res.statusCode).toBe(404)
    expect(json(res)).toMatchObject({ code: 'NOT_FOUND', detail: expect.stringMatching(/^user not found/) })
    expect(await walletRows(t, 'usr_never_seen')).toEqual({ balance: null, ledger_sum: 0, entries: 0, keys: 0 })
  })
})
