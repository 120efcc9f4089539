import { solveChallenge } from 'altcha-lib'
import { deriveKey } from 'altcha-lib/algorithms/sha'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHALLENGE_MAX_COUNTER, challengeCounter } from '../../src/queue/challenges.js'
import {
  admin,
  admitTick,
  admittedFans,
  chargeBalance,
  createConcert,
  createUser,
  fileTestApps,
  holdSeat,
  http,
  joinQueue,
  json,
  listen,
  pay,
  queuedFans,
  queueStatus,
  sharedTestApp,
  startTestApp,
  startTestApps,
  type TestApp,
  type User,
} from '../support/app.js'
import { databaseTargets, deploymentTargets, pgliteTarget, postgresRedisTarget, postgresTarget, storesOf } from '../support/stores.js'

const patchConcert = (t: TestApp, concertId: string, payload: Record<string, unknown>) =>
  t.app.inject({ method: 'PATCH', url: `/v1/admin/concerts/${concertId}`, headers: admin, payload })

/** Solves a concert's join challenge as a fan's page would, and gives ALTCHA's payload. */
async function solvedPayload(t: TestApp, concertId: string): Promise<string> {
  const challenge = json(await t.app.inject({ url: `/v1/concerts/${concertId}/queue/challenge` }))
  const solution = await solveChallenge({ challenge, deriveKey })
  return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64')
}

const joinWith = (t: TestApp, concertId: string, auth: Record<string, string>, altcha: string) =>
  t.app.inject({ method: 'POST', url: `/v1/concerts/${concertId}/queue`, headers: auth, payload: { altcha } })

describe('the work a join challenge asks for', () => {
  it('when counters are drawn, then they cover the whole range from zero, so no solver can skip the first part', () => {
    const draws = Array.from({ length: 2000 }, challengeCounter)
    expect(draws.every((c) => Number.isInteger(c) && c >= 0 && c <= CHALLENGE_MAX_COUNTER)).toBe(true)
    // Uniform over 0 … max: some fall in the lowest and the highest hundredth, and they average half the range.
    expect(Math.min(...draws)).toBeLessThan(CHALLENGE_MAX_COUNTER / 100)
    expect(Math.max(...draws)).toBeGreaterThan((CHALLENGE_MAX_COUNTER * 99) / 100)
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length
    expect(Math.abs(mean - CHALLENGE_MAX_COUNTER / 2)).toBeLessThan(CHALLENGE_MAX_COUNTER * 0.03)
  })
})

describe('a sign-up limit per client address', () => {
  let t: TestApp
  let base: string
  beforeAll(async () => {
    t = await startTestApp(pgliteTarget, { RATE_SIGNUP_PER_MIN: '20' })
    base = await listen(t.app)
  })
  afterAll(() => t.app.close())

  it('when one address signs up 30 times in a burst, then 20 succeed and the rest get 429 RATE_LIMITED with Retry-After, forged X-Forwarded-For or not', async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        fetch(`${base}/v1/users`, { method: 'POST', headers: { 'x-forwarded-for': `203.0.113.${i}` } }).then(async (r) => ({
          status: r.status,
          retryAfter: r.headers.get('retry-after'),
          body: (await r.json()) as { code?: string },
        })),
      ),
    )
    expect(answers.filter((a) => a.status === 201)).toHaveLength(20)
    const refused = answers.filter((a) => a.status === 429)
    expect(refused).toHaveLength(10)
    for (const r of refused) {
      expect(r.body.code).toBe('RATE_LIMITED')
      expect(Number(r.retryAfter)).toBeGreaterThan(0)
    }
  })
})

/** A join over a real socket: its status, its problem document, and the headers a refusal carries. */
async function joinOver(base: string, concertId: string, fan: User, headers: Record<string, string> = {}) {
  const r = await fetch(`${base}/v1/concerts/${concertId}/queue`, { method: 'POST', headers: { ...fan.auth, ...headers } })
  const limitHeaders = ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']
  return {
    status: r.status,
    body: (await r.json()) as { code?: string; retryAfterSeconds?: number; token?: string },
    headers: Object.fromEntries(limitHeaders.filter((h) => r.headers.has(h)).map((h) => [h, r.headers.get(h)])),
  }
}

/** What a join refused by a limit of `limit` a minute answers, `seconds` before its window ends (of its problem document, these members). */
const refusedFor = (limit: number, seconds: number) => ({
  status: 429,
  body: { code: 'RATE_LIMITED', retryAfterSeconds: seconds },
  headers: {
    'retry-after': String(seconds),
    'x-ratelimit-limit': String(limit),
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': String(seconds),
  },
})

describe.each(deploymentTargets)('a join limit per client address on $name', (target) => {
  let t: TestApp
  let base: string
  beforeAll(async () => {
    t = await startTestApp(target, { RATE_JOIN_PER_MIN: '5' })
    base = await listen(t.app)
  })
  afterAll(() => t.app.close())

  const fans = (n: number) => Promise.all(Array.from({ length: n }, () => createUser(t)))

  it('when one address joins too often, then joins are refused while status polls never are', async () => {
    const { concertId } = await createConcert(t)
    const joins: { status: number; body: any }[] = []
    for (const f of await fans(6)) joins.push(await http(base, 'POST', `/v1/concerts/${concertId}/queue`, { headers: f.auth }))
    expect(joins.slice(0, 5).map((j) => j.status)).toEqual([201, 201, 201, 201, 201])
    expect(joins[5]).toMatchObject({ status: 429, body: { code: 'RATE_LIMITED' } })
    const polls = await Promise.all(
      Array.from({ length: 100 }, () => http(base, 'GET', '/v1/queue/status', { headers: { 'queue-token': joins[0]!.body.token } })),
    )
    expect(polls.every((p) => p.status === 200)).toBe(true)
  })

  it('when one address joins eight times, each with a forged X-Forwarded-For, then five join and three get 429 with Retry-After and the RateLimit headers', async () => {
    const { concertId } = await createConcert(t)
    const answers = []
    for (const [i, fan] of (await fans(8)).entries())
      answers.push(await joinOver(base, concertId, fan, { 'x-forwarded-for': `203.0.113.${i}` }))
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201, 429, 429, 429])
    // The answers that join say nothing of the limit.
    expect(answers[0]!.headers).toEqual({})
    for (const refused of answers.slice(5)) expect(refused).toMatchObject(refusedFor(5, 60))
    expect(json(await t.app.inject({ url: `/v1/admin/concerts/${concertId}/queue`, headers: admin })).waiting).toBe(5)
  })

  it('when the window that started at the first join ends, then the address joins again; a second before, it still waits', async () => {
    const { concertId } = await createConcert(t)
    const [a, b, c, d, e, f] = await fans(6)
    for (const fan of [a, b, c, d, e]) expect((await joinOver(base, concertId, fan!)).status).toBe(201)
    t.clock.advanceSeconds(30)
    expect(await joinOver(base, concertId, f!)).toMatchObject(refusedFor(5, 30))
    t.clock.advance(29_001)
    expect(await joinOver(base, concertId, f!)).toMatchObject(refusedFor(5, 1))
    t.clock.advance(999)
    expect((await joinOver(base, concertId, f!)).status).toBe(201)
  })

  it('when a fan in line joins again, then it counts like any join and gives back the same place', async () => {
    const { concertId } = await createConcert(t)
    const [fan, other] = await fans(2)
    const answers = []
    for (let i = 0; i < 5; i++) answers.push(await joinOver(base, concertId, fan!))
    expect(answers.map((a) => a.status)).toEqual([201, 200, 200, 200, 200])
    expect(new Set(answers.map((a) => a.body.token)).size).toBe(1)
    expect(await joinOver(base, concertId, fan!)).toMatchObject(refusedFor(5, 60))
    expect(await joinOver(base, concertId, other!)).toMatchObject(refusedFor(5, 60))
    expect(json(await t.app.inject({ url: `/v1/admin/concerts/${concertId}/queue`, headers: admin })).waiting).toBe(1)
  })

  it("when one address has used a concert's joins, then it still joins another concert: the limit is per address and concert", async () => {
    const first = await createConcert(t)
    const second = await createConcert(t)
    const crowd = await fans(6)
    for (const fan of crowd.slice(0, 5)) expect((await joinOver(base, first.concertId, fan)).status).toBe(201)
    expect((await joinOver(base, first.concertId, crowd[5]!)).status).toBe(429)
    expect((await joinOver(base, second.concertId, crowd[5]!)).status).toBe(201)
  })

  it('when clients join over IPv6, then addresses of one /64 count together and another /64 counts apart', async () => {
    const { concertId } = await createConcert(t)
    const joinFrom = async (remoteAddress: string) =>
      (await t.app.inject({ method: 'POST', url: `/v1/concerts/${concertId}/queue`, headers: (await createUser(t)).auth, remoteAddress }))
        .statusCode
    const answers = []
    for (let i = 1; i <= 6; i++) answers.push(await joinFrom(`2001:db8:0:1::${i.toString(16)}`))
    expect(answers).toEqual([201, 201, 201, 201, 201, 429])
    expect(await joinFrom('2001:db8:0:1:ffff:ffff:ffff:ffff')).toBe(429)
    expect(await joinFrom('2001:db8:0:2::1')).toBe(201)
  })
})

describe.each(storesOf(postgresTarget, postgresRedisTarget))('a join limit shared by the processes on $name', (target) => {
  let apps: TestApp[]
  const bases: string[] = []
  beforeAll(async () => {
    apps = await startTestApps(target, 2, { RATE_JOIN_PER_MIN: '5' })
    for (const t of apps) bases.push(await listen(t.app))
  })
  afterAll(async () => {
    for (const t of apps) await t.app.close()
  })

  it('when joins from one address go to two processes, then the limit counts them together', async () => {
    const { concertId } = await createConcert(apps[0]!)
    const fans = await Promise.all(Array.from({ length: 8 }, () => createUser(apps[0]!)))
    const answers = await Promise.all(fans.map((fan, i) => joinOver(bases[i % 2]!, concertId, fan)))
    expect(answers.filter((a) => a.status === 201)).toHaveLength(5)
    const refused = answers.filter((a) => a.status === 429)
    expect(refused).toHaveLength(3)
    for (const r of refused) expect(r).toMatchObject(refusedFor(5, 60))
  })
})

describe('a hold limit per user', () => {
  const t = sharedTestApp(pgliteTarget, { RATE_HOLD_PER_MIN: '3' })

  it('when one fan tries to hold too often, then that fan is refused and another is not', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const [greedy, patient] = await admittedFans(t, concertId, 2)
    const tries = []
    for (let seat = 1; seat <= 4; seat++) tries.push(await holdSeat(t, greedy!.headers, scheduleId, seat))
    expect(tries.map((r) => r.statusCode)).toEqual([201, 201, 201, 429])
    expect(json(tries[3]!)).toMatchObject({ code: 'RATE_LIMITED' })
    expect((await holdSeat(t, patient!.headers, scheduleId, 10)).statusCode).toBe(201)
  })
})

describe.each(storesOf(postgresRedisTarget))('rate limits shared through Redis on $name', (target) => {
  let apps: TestApp[]
  const bases: string[] = []
  beforeAll(async () => {
    apps = await startTestApps(target, 2, { RATE_SIGNUP_PER_MIN: '10' })
    for (const t of apps) bases.push(await listen(t.app))
  })
  afterAll(async () => {
    for (const t of apps) await t.app.close()
  })

  it('when sign-ups from one address go to two processes, then the limit counts them together', async () => {
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => http(bases[i % 2]!, 'POST', '/v1/users')))
    expect(answers.filter((a) => a.status === 201)).toHaveLength(10)
    expect(answers.filter((a) => a.status === 429)).toHaveLength(6)
  })
})

describe('behind a trusted proxy', () => {
  let t: TestApp
  let base: string
  beforeAll(async () => {
    t = await startTestApp(pgliteTarget, { RATE_SIGNUP_PER_MIN: '2', TRUST_PROXY: '127.0.0.1' })
    base = await listen(t.app)
  })
  afterAll(() => t.app.close())

  it('when TRUST_PROXY names the proxy, then X-Forwarded-For is the client and each client has its own limit', async () => {
    const signUp = (client: string) => http(base, 'POST', '/v1/users', { headers: { 'x-forwarded-for': client } })
    const answers = [await signUp('198.51.100.1'), await signUp('198.51.100.1'), await signUp('198.51.100.1'), await signUp('198.51.100.2')]
    expect(answers.map((a) => a.status)).toEqual([201, 201, 429, 201])
  })
})

describe('joins behind a trusted proxy', () => {
  let t: TestApp
  let base: string
  beforeAll(async () => {
    t = await startTestApp(pgliteTarget, { RATE_JOIN_PER_MIN: '2', TRUST_PROXY: '127.0.0.1' })
    base = await listen(t.app)
  })
  afterAll(() => t.app.close())

  it('when TRUST_PROXY names the proxy, then each client forwarded by it has its own join limit', async () => {
    const { concertId } = await createConcert(t)
    const joinFrom = async (client: string) => (await joinOver(base, concertId, await createUser(t), { 'x-forwarded-for': client })).status
    const answers = [
      await joinFrom('198.51.100.1'),
      await joinFrom('198.51.100.1'),
      await joinFrom('198.51.100.1'),
      await joinFrom('198.51.100.2'),
    ]
    expect(answers).toEqual([201, 201, 429, 201])
  })
})

/** The app of the describes below, on each store with the default configuration. */
const apps = fileTestApps()

describe.each(databaseTargets)('a cap per fan on $name', (target) => {
  const t = apps.shared(target)

  it('when one fan fires holds across two dates at once, then no more than the cap succeed', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const second = await t.app.inject({
      method: 'POST',
      url: `/v1/admin/concerts/${concertId}/schedules`,
      headers: admin,
      payload: {
        startsAt: new Date(t.clock.now() + 40 * 86_400_000).toISOString(),
        sections: [{ name: 'B', rows: 2, seatsPerRow: 10, price: 1000 }],
      },
    })
    const otherSchedule = json(second).scheduleId as string
    expect(json(await patchConcert(t, concertId, { maxTicketsPerUser: 3 }))).toMatchObject({ maxTicketsPerUser: 3 })
    const [fan] = await admittedFans(t, concertId, 1)
    const holds = await Promise.all(
      Array.from({ length: 8 }, (_, i) => holdSeat(t, fan!.headers, i % 2 === 0 ? scheduleId : otherSchedule, Math.floor(i / 2) + 1)),
    )
    expect(holds.filter((h) => h.statusCode === 201)).toHaveLength(3)
    for (const h of holds.filter((r) => r.statusCode !== 201)) expect(json(h)).toMatchObject({ code: 'TICKET_LIMIT', maxTicketsPerUser: 3 })
  })

  it('when a fan has paid for seats, then they count toward the cap, and raising the cap lets one more through', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    expect((await patchConcert(t, concertId, { maxTicketsPerUser: 1 })).statusCode).toBe(200)
    const [fan] = await admittedFans(t, concertId, 1)
    await chargeBalance(t, fan!.auth, 200_000)
    const held = json(await holdSeat(t, fan!.headers, scheduleId, 1))
    expect((await pay(t, fan!.headers, held.reservationId)).statusCode).toBe(201)
    // Paying ended the token: the fan queues again, and the paid seat still counts.
    const joined = json(await joinQueue(t, concertId, fan!.auth))
    await admitTick(t)
    const again = { ...fan!.auth, 'queue-token': joined.token as string }
    expect(json(await holdSeat(t, again, scheduleId, 2))).toMatchObject({ code: 'TICKET_LIMIT' })
    expect((await patchConcert(t, concertId, { maxTicketsPerUser: 2 })).statusCode).toBe(200)
    expect((await holdSeat(t, again, scheduleId, 2)).statusCode).toBe(201)
  })

  it('when the cap is set at creation, then the list shows it; a bad value is a clear 400 and changes nothing', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/concerts',
      headers: admin,
      payload: { title: 'Capped', performer: 'P', venue: 'V', maxTicketsPerUser: 2, joinChallenge: 'pow' },
    })
    const { concertId } = json(created)
    const listed = json(await t.app.inject({ url: '/v1/concerts' })).items.find((c: { concertId: string }) => c.concertId === concertId)
    expect(listed).toMatchObject({ maxTicketsPerUser: 2, joinChallenge: 'pow' })
    for (const payload of [{ maxTicketsPerUser: 0 }, { maxTicketsPerUser: '2' }, { joinChallenge: 'captcha' }, {}]) {
      expect((await patchConcert(t, concertId, payload)).statusCode, JSON.stringify(payload)).toBe(400)
    }
    expect((await patchConcert(t, 'con_nope', { maxTicketsPerUser: 3 })).statusCode).toBe(404)
  })
})

describe.each(storesOf(pgliteTarget, postgresRedisTarget))('proof of work on join on $name', (target) => {
  const t = apps.shared(target)

  it('when a concert asks for proof of work, then an unsolved join is refused, a solved one joins, and a fan in line comes back without solving again', async () => {
    const { concertId } = await createConcert(t)
    await patchConcert(t, concertId, { joinChallenge: 'pow' })
    const fan = await createUser(t)
    expect(json(await joinQueue(t, concertId, fan.auth))).toMatchObject({ code: 'CHALLENGE_REQUIRED' })
    const joined = await joinWith(t, concertId, fan.auth, await solvedPayload(t, concertId))
    expect(joined.statusCode).toBe(201)
    const again = await joinQueue(t, concertId, fan.auth)
    expect(again.statusCode).toBe(200)
    expect(json(again).token).toBe(json(joined).token)
  })

  it('when a solution is used twice, used on another concert, expired, wrong or not a payload at all, then CHALLENGE_FAILED and no one joins', async () => {
    const { concertId } = await createConcert(t)
    const other = (await createConcert(t)).concertId
    for (const id of [concertId, other]) await patchConcert(t, id, { joinChallenge: 'pow' })
    const payload = await solvedPayload(t, concertId)
    const [first, second, third] = await Promise.all([createUser(t), createUser(t), createUser(t)])
    expect((await joinWith(t, concertId, first!.auth, payload)).statusCode).toBe(201)
    expect(json(await joinWith(t, concertId, second!.auth, payload))).toMatchObject({ code: 'CHALLENGE_FAILED' })
    expect(json(await joinWith(t, other, second!.auth, await solvedPayload(t, concertId)))).toMatchObject({ code: 'CHALLENGE_FAILED' })

    const parsed = JSON.parse(Buffer.from(await solvedPayload(t, concertId), 'base64').toString())
    const wrong = { ...parsed, solution: { ...parsed.solution, derivedKey: '00'.repeat(32) } }
    const forged = { ...parsed, challenge: { ...parsed.challenge, parameters: { ...parsed.challenge.parameters, cost: 1, nonce: '00' } } }
    for (const bad of [
      Buffer.from(JSON.stringify(wrong)).toString('base64'),
      Buffer.from(JSON.stringify(forged)).toString('base64'),
      Buffer.from('{"challenge": 1}').toString('base64'),
      Buffer.from('not json').toString('base64'),
      'not base64 !!',
      Buffer.from(JSON.stringify({ ...parsed, solution: { counter: 'x', derivedKey: 'y'.repeat(3000) } }))
        .toString('base64')
        .slice(0, 4000),
    ]) {
      expect(json(await joinWith(t, concertId, third!.auth, bad)), bad.slice(0, 40)).toMatchObject({ code: 'CHALLENGE_FAILED' })
    }
    expect((await joinWith(t, concertId, third!.auth, 'x'.repeat(5000))).statusCode).toBe(400)

    expect(json(await t.app.inject({ url: `/v1/admin/concerts/${concertId}/queue`, headers: admin })).waiting).toBe(1)
    const late = await solvedPayload(t, concertId)
    t.clock.advance(6 * 60_000)
    expect(json(await joinWith(t, concertId, third!.auth, late))).toMatchObject({ code: 'CHALLENGE_FAILED' })
  })

  it('when a concert asks for no proof of work, then its challenge route is 404', async () => {
    const { concertId } = await createConcert(t)
    expect((await t.app.inject({ url: `/v1/concerts/${concertId}/queue/challenge` })).statusCode).toBe(404)
    expect((await t.app.inject({ url: '/v1/concerts/con_nope/queue/challenge' })).statusCode).toBe(404)
  })
})

describe.each(storesOf(pgliteTarget, postgresRedisTarget))('a line that knows the inventory on $name', (target) => {
  const t = apps.shared(target)

  it('when every seat is held, then admission waits; when one comes back and its fan is gone, the next fan is admitted', async () => {
    const { concertId, scheduleId } = await createConcert(t, { sections: [{ name: 'A', rows: 1, seatsPerRow: 2, price: 10_000 }] })
    const [a, b] = await admittedFans(t, concertId, 2)
    const waiting = await queuedFans(t, concertId, 1)
    const held = json(await holdSeat(t, a!.headers, scheduleId, 1))
    await holdSeat(t, b!.headers, scheduleId, 2)
    t.clock.advance(1000)
    expect(json(await queueStatus(t, waiting[0]!.queueToken))).toMatchObject({ status: 'WAITING', position: 1, availableSeats: 0 })
    await admitTick(t)
    expect(json(await queueStatus(t, waiting[0]!.queueToken))).toMatchObject({ status: 'WAITING', position: 1 })
    await t.app.inject({ method: 'DELETE', url: `/v1/reservations/${held.reservationId}`, headers: a!.auth })
    t.clock.advance(1000)
    // No more fans admitted than seats left to sell: while the fan who released it is still
    // admitted, the seat may still be theirs.
    await admitTick(t)
    expect(json(await queueStatus(t, waiting[0]!.queueToken))).toMatchObject({ status: 'WAITING', availableSeats: 1 })
    await t.app.inject({ method: 'DELETE', url: '/v1/queue', headers: { 'queue-token': a!.queueToken } })
    await admitTick(t)
    expect(json(await queueStatus(t, waiting[0]!.queueToken))).toMatchObject({ status: 'ACTIVE', availableSeats: 1 })
  })

  it('when every seat is sold, then the waiting are told SOLD_OUT in their place, joins are refused, the list marks it; a new date brings them back', async () => {
    const { concertId, scheduleId } = await createConcert(t, { sections: [{ name: 'A', rows: 1, seatsPerRow: 2, price: 10_000 }] })
    const buyers = await admittedFans(t, concertId, 2)
    const waiting = await queuedFans(t, concertId, 2)
    for (const [i, b] of buyers.entries()) {
      await chargeBalance(t, b.auth, 10_000)
      const held = json(await holdSeat(t, b.headers, scheduleId, i + 1))
      expect((await pay(t, b.headers, held.reservationId)).statusCode).toBe(201)
    }
    t.clock.advance(1000)
    const soldOut = json(await queueStatus(t, waiting[1]!.queueToken))
    expect(soldOut).toMatchObject({ status: 'SOLD_OUT', position: 2, availableSeats: 0, etaSeconds: null })
    expect(soldOut.pollAfterMs).toBeGreaterThanOrEqual(0.8 * 30_000)
    const late = await createUser(t)
    expect(json(await joinQueue(t, concertId, late.auth))).toMatchObject({ status: 409, code: 'SOLD_OUT' })
    expect(
      json(await t.app.inject({ url: '/v1/concerts' })).items.find((c: { concertId: string }) => c.concertId === concertId),
    ).toMatchObject({
      soldOut: true,
    })

    await t.app.inject({
      method: 'POST',
      url: `/v1/admin/concerts/${concertId}/schedules`,
      headers: admin,
      payload: {
        startsAt: new Date(t.clock.now() + 50 * 86_400_000).toISOString(),
        sections: [{ name: 'B', rows: 1, seatsPerRow: 5, price: 10_000 }],
      },
    })
    t.clock.advance(1000)
    expect(json(await queueStatus(t, waiting[1]!.queueToken))).toMatchObject({ status: 'WAITING', position: 2, availableSeats: 5 })
  })

  it('when a concert has no bookable date (none made yet, or every one has started), then it is sold out to the list, to joins and to its waiting fans', async () => {
    const listed = async (concertId: string) =>
      json(await t.app.inject({ url: '/v1/concerts' })).items.find((c: { concertId: string }) => c.concertId === concertId)
    const created = json(
      await t.app.inject({
        method: 'POST',
        url: '/v1/admin/concerts',
        headers: admin,
        payload: { title: 'No Dates', performer: 'P', venue: 'V' },
      }),
    )
    expect(await listed(created.concertId)).toMatchObject({ soldOut: true })
    const early = await createUser(t)
    expect(json(await joinQueue(t, created.concertId, early.auth))).toMatchObject({ status: 409, code: 'SOLD_OUT' })

    // A date that starts while fans wait for it leaves nothing to sell.
    const { concertId } = json(
      await t.app.inject({
        method: 'POST',
        url: '/v1/admin/concerts',
        headers: admin,
        payload: { title: 'Soon', performer: 'P', venue: 'V' },
      }),
    )
    const date = await t.app.inject({
      method: 'POST',
      url: `/v1/admin/concerts/${concertId}/schedules`,
      headers: admin,
      payload: {
        startsAt: new Date(t.clock.now() + 60_000).toISOString(),
        sections: [{ name: 'A', rows: 1, seatsPerRow: 2, price: 10_000 }],
      },
    })
    expect(date.statusCode).toBe(201)
    const [, fan] = await queuedFans(t, concertId, 2)
    expect(json(await queueStatus(t, fan!.queueToken))).toMatchObject({ status: 'WAITING', availableSeats: 2 })
    t.clock.advance(61_000)
    const status = json(await queueStatus(t, fan!.queueToken))
    expect(status).toMatchObject({ status: 'SOLD_OUT', position: 2, availableSeats: 0, etaSeconds: null })
    expect(await listed(concertId)).toMatchObject({ soldOut: true })
  })
})
