import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  admin,
  admitTick,
  createConcert,
  createUser,
  joinQueue,
  json,
  queuedFans,
  queueStatus,
  sharedTestApp,
  startTestApps,
  type TestApp,
} from '../support/app.js'
import { deploymentTargets, postgresRedisTarget, postgresTarget, storesOf } from '../support/stores.js'

describe.each(deploymentTargets)('waiting room API on $name', (target) => {
  const t = sharedTestApp(target, { QUEUE_ADMIT_PER_TICK: '2', QUEUE_TICK_MS: '1000', QUEUE_MAX_ACTIVE: '3' })

  const schedules = (concertId: string, auth: Record<string, string>, token?: string) =>
    t.app.inject({
      url: `/v1/concerts/${concertId}/schedules`,
      headers: { ...auth, ...(token ? { 'queue-token': token } : {}) },
    })

  it('when a user joins, then 201 with a token and place; joining again gives 200 with the same', async () => {
    const { concertId } = await createConcert(t)
    const [first] = await queuedFans(t, concertId, 1)
    const u = await createUser(t)
    const res = await joinQueue(t, concertId, u.auth)
    expect(res.statusCode).toBe(201)
    const body = json(res)
    expect(body).toEqual({
      token: expect.any(String),
      concertId,
      status: 'WAITING',
      position: 2,
      etaSeconds: 1,
      pollAfterMs: expect.any(Number),
      pollBeforeMs: 240_000,
      activeUntil: null,
      availableSeats: 50,
    })
    const again = await joinQueue(t, concertId, u.auth)
    expect(again.statusCode).toBe(200)
    expect(json(again)).toMatchObject({ token: body.token, position: 2 })
    expect(first!.queueToken).not.toBe(body.token)
  })

  it('when the concert is unknown or the user is not signed in, then 404 and 401', async () => {
    const u = await createUser(t)
    expect(json(await joinQueue(t, 'con_nope', u.auth))).toMatchObject({ status: 404, code: 'NOT_FOUND' })
    const { concertId } = await createConcert(t)
    expect(json(await joinQueue(t, concertId, {}))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' })
  })

  it('when the queue has not opened, then joining is 409 QUEUE_NOT_OPEN', async () => {
    const opens = new Date(t.clock.now() + 3600_000).toISOString()
    const { concertId } = await createConcert(t, { queueOpensAt: opens, saleOpensAt: opens })
    const u = await createUser(t)
    const res = await joinQueue(t, concertId, u.auth)
    expect(res.statusCode).toBe(409)
    expect(json(res)).toMatchObject({ code: 'QUEUE_NOT_OPEN', queueOpensAt: opens })
  })

  it('when admission ticks, then status moves from WAITING to ACTIVE in order, and ends as EXPIRED when idle', async () => {
    const { concertId } = await createConcert(t)
    const users = await queuedFans(t, concertId, 3)
    expect(json(await queueStatus(t, users[2]!.queueToken))).toMatchObject({ status: 'WAITING', position: 3, etaSeconds: 2 })
    await admitTick(t)
    const first = json(await queueStatus(t, users[0]!.queueToken))
    expect(first).toMatchObject({ status: 'ACTIVE', position: 0, etaSeconds: 0 })
    expect(Date.parse(first.activeUntil)).toBe(t.clock.now() + 300_000)
    expect(json(await queueStatus(t, users[2]!.queueToken))).toMatchObject({ status: 'WAITING', position: 1 })
    t.clock.advanceSeconds(301)
    expect(json(await queueStatus(t, users[0]!.queueToken))).toMatchObject({ status: 'EXPIRED', position: null, activeUntil: null })
  })

  it('when people are admitted, then the wait estimate follows the admission rate, and a change of it at once', async () => {
    const { concertId } = await createConcert(t)
    await t.app.inject({ method: 'PATCH', url: `/v1/admin/concerts/${concertId}/queue`, headers: admin, payload: { maxActive: 1000 } })
    const users = await queuedFans(t, concertId, 9)
    await admitTick(t)
    await admitTick(t)
    // 2 a tick of 1 s; 5 ahead of the last means 3 s.
    expect(json(await queueStatus(t, users[8]!.queueToken))).toMatchObject({ position: 5, etaSeconds: 3 })
    // The operator admits 5 a tick: the next answers count on it, not on the last minute's 2.
    await t.app.inject({ method: 'PATCH', url: `/v1/admin/concerts/${concertId}/queue`, headers: admin, payload: { admitPerTick: 5 } })
    t.clock.advanceSeconds(1)
    expect(json(await queueStatus(t, users[8]!.queueToken))).toMatchObject({ position: 5, etaSeconds: 1 })
  })

  it('when a fan asks partway through a tick, then the wait estimate counts to the tick that admits them, to the nearest second', async () => {
    const { concertId } = await createConcert(t)
    await t.app.inject({ method: 'PATCH', url: `/v1/admin/concerts/${concertId}/queue`, headers: admin, payload: { maxActive: 1000 } })
    const users = await queuedFans(t, concertId, 5)
    // 2 a tick at the start of each second: the fifth in line goes in the third tick from now.
    t.clock.advance(1000 - (t.clock.now() % 1000) + 700)
    // 0.3 s to the next tick and two more: 2.3 s, not three whole ticks.
    expect(json(await queueStatus(t, users[4]!.queueToken))).toMatchObject({ position: 5, etaSeconds: 2 })
    // Just into the next second (no tick ran, so the place is the same): 0.9 s to the next tick and two more.
    t.clock.advance(400)
    expect(json(await queueStatus(t, users[4]!.queueToken))).toMatchObject({ position: 5, etaSeconds: 3 })
  })

  it('when a crowd near the front asks, then each is told to come back within ±20% of one wait, not all in step', async () => {
    const { concertId } = await createConcert(t)
    const fans = await queuedFans(t, concertId, 6)
    // Every one of them is under 4 s from the front: the wait is the 1 s minimum, spread.
    const waits: number[] = []
    for (let round = 0; round < 5; round++) {
      for (const fan of fans) waits.push(json(await queueStatus(t, fan.queueToken)).pollAfterMs)
    }
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(800)
    expect(Math.max(...waits)).toBeLessThanOrEqual(1200)
    expect(new Set(waits).size).toBeGreaterThan(10)
    expect(waits.filter((w) => w < 1000).length).toBeGreaterThan(3)
    expect(waits.filter((w) => w > 1000).length).toBeGreaterThan(3)
  })

  it('when the cap is full, then the wait estimate counts on slots coming free, not on the tick rate', async () => {
    const { concertId } = await createConcert(t)
    await t.app.inject({ method: 'PATCH', url: `/v1/admin/concerts/${concertId}/queue`, headers: admin, payload: { maxActive: 2 } })
    const users = await queuedFans(t, concertId, 5)
    await admitTick(t)
    // Nobody leaves yet: 2 slots turn over once in the 300 s idle limit, so 3 ahead mean 450 s.
    expect(json(await queueStatus(t, users[4]!.queueToken))).toMatchObject({ position: 3, etaSeconds: 450 })
  })

  it('when a token is forged, missing, or an access token, then status is 401', async () => {
    const { concertId } = await createConcert(t)
    const [u] = await queuedFans(t, concertId, 1)
    const forged = `${u!.queueToken.slice(0, u!.queueToken.lastIndexOf('.'))}.${'A'.repeat(43)}`
    for (const token of [forged, 'garbage', u!.accessToken]) {
      expect(json(await queueStatus(t, token))).toMatchObject({ status: 401, code: 'QUEUE_TOKEN_INVALID' })
    }
    expect(json(await t.app.inject('/v1/queue/status'))).toMatchObject({ status: 401, code: 'QUEUE_TOKEN_INVALID' })
  })

  it('when a waiting user leaves, then the place is freed at once and the token reads EXPIRED', async () => {
    const { concertId } = await createConcert(t)
    const users = await queuedFans(t, concertId, 3)
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/queue', headers: { 'queue-token': users[0]!.queueToken } })
    expect(res.statusCode).toBe(204)
    expect(json(await queueStatus(t, users[0]!.queueToken)).status).toBe('EXPIRED')
    expect(json(await queueStatus(t, users[1]!.queueToken)).position).toBe(1)
    expect(json(await queueStatus(t, users[2]!.queueToken)).position).toBe(2)
    const rejoin = await joinQueue(t, concertId, users[0]!.auth)
    expect(json(rejoin)).toMatchObject({ position: 3 })
    expect(json(rejoin).token).not.toBe(users[0]!.queueToken)
  })

  it('when the pre-queue is open, then positions are hidden until the sale, then pre-queue joiners come first', async () => {
    const now = t.clock.now()
    const { concertId } = await createConcert(t, {
      queueOpensAt: new Date(now - 1000).toISOString(),
      saleOpensAt: new Date(now + 60_000).toISOString(),
    })
    const early = await queuedFans(t, concertId, 10)
    expect(json(await queueStatus(t, early[0]!.queueToken))).toMatchObject({ status: 'WAITING', position: null, etaSeconds: 60 })
    await admitTick(t)
    expect(json(await queueStatus(t, early[0]!.queueToken)).status).toBe('WAITING')
    t.clock.advance(60_000)
    const [late] = await queuedFans(t, concertId, 1)
    const positions = await Promise.all(early.map(async (u) => json(await queueStatus(t, u.queueToken)).position))
    expect([...positions].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(json(await queueStatus(t, late!.queueToken)).position).toBe(11)
  })

  describe('the gate on GET /v1/concerts/{concertId}/schedules', () => {
    it('when admitted, then 200 with the bookable dates; the request slides the admission', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [u] = await queuedFans(t, concertId, 1)
      await admitTick(t)
      t.clock.advanceSeconds(100)
      const res = await schedules(concertId, u!.auth, u!.queueToken)
      expect(res.statusCode).toBe(200)
      expect(json(res).items).toEqual([{ scheduleId, startsAt: expect.any(String), availableSeats: 50, totalSeats: 50 }])
      expect(Date.parse(json(await queueStatus(t, u!.queueToken)).activeUntil)).toBe(t.clock.now() + 300_000)
    })

    it('when credentials are missing or bad, then 401 before anything else', async () => {
      const { concertId } = await createConcert(t)
      const [u] = await queuedFans(t, concertId, 1)
      expect(json(await schedules(concertId, {}, u!.queueToken))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' })
      expect(json(await schedules(concertId, u!.auth))).toMatchObject({ status: 401, code: 'QUEUE_TOKEN_INVALID' })
      expect(json(await schedules('con_unknown', u!.auth, 'forged.token.value'))).toMatchObject({
        status: 401,
        code: 'QUEUE_TOKEN_INVALID',
      })
    })

    it('when still waiting, then 403 QUEUE_NOT_ADMITTED with the position', async () => {
      const { concertId } = await createConcert(t)
      const users = await queuedFans(t, concertId, 2)
      const res = await schedules(concertId, users[1]!.auth, users[1]!.queueToken)
      expect(res.statusCode).toBe(403)
      expect(json(res)).toMatchObject({ code: 'QUEUE_NOT_ADMITTED', position: 2 })
    })

    it("when the token is another user's or another concert's, then 403; an unknown concert is 404", async () => {
      const a = await createConcert(t)
      const b = await createConcert(t)
      const [u] = await queuedFans(t, a.concertId, 1)
      const other = await createUser(t)
      await admitTick(t)
      expect(json(await schedules(a.concertId, other.auth, u!.queueToken))).toMatchObject({ status: 403, code: 'QUEUE_TOKEN_NOT_YOURS' })
      expect(json(await schedules(b.concertId, u!.auth, u!.queueToken))).toMatchObject({
        status: 403,
        code: 'QUEUE_TOKEN_WRONG_CONCERT',
      })
      expect(json(await schedules('con_unknown', u!.auth, u!.queueToken))).toMatchObject({ status: 404, code: 'NOT_FOUND' })
    })

    it('when the token has ended, then 401 QUEUE_TOKEN_EXPIRED, even for an unknown concert', async () => {
      const { concertId } = await createConcert(t)
      const [u] = await queuedFans(t, concertId, 1)
      await admitTick(t)
      await t.app.inject({ method: 'DELETE', url: '/v1/queue', headers: { 'queue-token': u!.queueToken } })
      expect(json(await schedules(concertId, u!.auth, u!.queueToken))).toMatchObject({ status: 401, code: 'QUEUE_TOKEN_EXPIRED' })
      expect(json(await schedules('con_unknown', u!.auth, u!.queueToken))).toMatchObject({
        status: 401,
        code: 'QUEUE_TOKEN_EXPIRED',
      })
    })
  })

  describe('admin queue routes', () => {
    it('when an operator reads the queue, then the figures and settings come back', async () => {
      const { concertId } = await createConcert(t)
      await queuedFans(t, concertId, 4)
      await admitTick(t, 9_000)
      const res = await t.app.inject({ url: `/v1/admin/concerts/${concertId}/queue`, headers: admin })
      expect(res.statusCode).toBe(200)
      expect(json(res)).toEqual({
        waiting: 2,
        active: 2,
        admittedLastMinute: 2,
        p50WaitSeconds: 9,
        config: {
          strategy: 'hybrid',
          admitPerTick: 2,
          tickMs: 1000,
          maxActive: 3,
          paused: false,
          activeIdleS: 300,
          activeMaxS: 1800,
          waitingIdleS: 300,
          adaptive: { enabled: false, minAdmitPerTick: 1, maxAdmitPerTick: 20, targetLatencyMs: 250 },
        },
        adaptive: {
          enabled: false,
          admitPerTick: 2,
          latencyP90Ms: null,
          errorRate: null,
          reason: null,
          decision: null,
          decidedAt: null,
        },
      })
    })

    it('when an operator changes adaptive admission, then the fields given merge over the others, and bad ones are 400 with nothing changed', async () => {
      const { concertId } = await createConcert(t)
      const url = `/v1/admin/concerts/${concertId}/queue`
      const patch = (payload: unknown) => t.app.inject({ method: 'PATCH', url, headers: admin, payload: payload as object })
      const enabled = await patch({ adaptive: { enabled: true, maxAdmitPerTick: 40 } })
      expect(enabled.statusCode).toBe(200)
      expect(json(enabled).adaptive).toEqual({ enabled: true, minAdmitPerTick: 1, maxAdmitPerTick: 40, targetLatencyMs: 250 })
      const target = await patch({ adaptive: { targetLatencyMs: 400 } })
      expect(json(target).adaptive).toEqual({ enabled: true, minAdmitPerTick: 1, maxAdmitPerTick: 40, targetLatencyMs: 400 })
      const before = json(await t.app.inject({ url, headers: admin })).config

      const refusals: [unknown, string][] = [
        [{ adaptive: { minAdmitPerTick: 41 } }, 'adaptive'],
        [{ adaptive: { minAdmitPerTick: 10, maxAdmitPerTick: 5 } }, 'adaptive'],
        [{ adaptive: { minAdmitPerTick: -1 } }, 'adaptive.minAdmitPerTick'],
        [{ adaptive: { maxAdmitPerTick: 0 } }, 'adaptive.maxAdmitPerTick'],
        [{ adaptive: { targetLatencyMs: 0 } }, 'adaptive.targetLatencyMs'],
        [{ adaptive: { enabled: 'yes' } }, 'adaptive.enabled'],
        [{ adaptive: { steps: 3 } }, 'adaptive.steps'],
        [{ adaptive: {} }, 'adaptive'],
        [{ adaptive: { enabled: false }, admitPerTick: 0 }, 'admitPerTick'],
      ]
      for (const [payload, field] of refusals) {
        const res = await patch(payload)
        expect(res.statusCode, JSON.stringify(payload)).toBe(400)
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
        expect(json(res), JSON.stringify(payload)).toMatchObject({ code: 'VALIDATION_FAILED', field })
      }
      expect(json(await patch({ adaptive: { minAdmitPerTick: 41 } })).detail).toBe(
        'adaptive: minAdmitPerTick (41) must not be above maxAdmitPerTick (40)',
      )
      expect(json(await t.app.inject({ url, headers: admin })).config).toEqual(before)
    })

    it('when an operator pauses and resumes, then admission stops and restarts on the next tick', async () => {
      const { concertId } = await createConcert(t)
      const users = await queuedFans(t, concertId, 2)
      const url = `/v1/admin/concerts/${concertId}/queue`
      const paused = await t.app.inject({ method: 'PATCH', url, headers: admin, payload: { paused: true, admitPerTick: 1 } })
      expect(json(paused)).toMatchObject({ paused: true, admitPerTick: 1, strategy: 'hybrid' })
      await admitTick(t)
      expect(json(await queueStatus(t, users[0]!.queueToken)).status).toBe('WAITING')
      await t.app.inject({ method: 'PATCH', url, headers: admin, payload: { paused: false } })
      await admitTick(t)
      expect(json(await queueStatus(t, users[0]!.queueToken)).status).toBe('ACTIVE')
      expect(json(await queueStatus(t, users[1]!.queueToken)).status).toBe('WAITING')
    })

    it('when the patch is invalid, the key is wrong or the concert unknown, then 400, 401, 404 and nothing changes', async () => {
      const { concertId } = await createConcert(t)
      const url = `/v1/admin/concerts/${concertId}/queue`
      for (const payload of [{}, { admitPerTick: 0 }, { strategy: 'lottery' }, { paused: 'yes' }, { tickMs: 10 }]) {
        const res = await t.app.inject({ method: 'PATCH', url, headers: admin, payload })
        expect(res.statusCode, JSON.stringify(payload)).toBe(400)
      }
      expect((await t.app.inject({ method: 'PATCH', url, payload: { paused: true } })).statusCode).toBe(401)
      const missing = await t.app.inject({
        method: 'PATCH',
        url: '/v1/admin/concerts/con_x/queue',
        headers: admin,
        payload: { paused: true },
      })
      expect(missing.statusCode).toBe(404)
      expect(json(await t.app.inject({ url, headers: admin })).config).toMatchObject({ paused: false, admitPerTick: 2 })
    })
  })
})

describe.each(storesOf(postgresTarget, postgresRedisTarget))('wait estimates across two processes on $name', (target) => {
  let a: TestApp
  let b: TestApp
  beforeAll(async () => {
    const apps = await startTestApps(target, 2, { QUEUE_STRATEGY: 'rate', QUEUE_ADMIT_PER_TICK: '2', QUEUE_TICK_MS: '1000' })
    a = apps[0]!
    b = apps[1]!
  })
  afterAll(async () => {
    await a.app.close()
    await b.app.close()
  })

  it('when the operator changes the rate through one process, then the other counts on it from its next answers, not a tick later', async () => {
    const { concertId } = await createConcert(a)
    const last = (await queuedFans(a, concertId, 9))[8]!
    b.clock.advance(1000 - (b.clock.now() % 1000))
    // 2 a tick: the ninth goes in the fifth tick from now.
    expect(json(await queueStatus(b, last.queueToken))).toMatchObject({ position: 9, etaSeconds: 5 })
    await a.app.inject({ method: 'PATCH', url: `/v1/admin/concerts/${concertId}/queue`, headers: admin, payload: { admitPerTick: 9 } })
    // b's clock stands still, so no tick's re-read of the settings is due there: only hearing of the change moves its estimate.
    await expect.poll(async () => json(await queueStatus(b, last.queueToken)).etaSeconds).toBe(1)
  })
})
