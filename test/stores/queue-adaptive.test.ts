import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADAPTIVE_WINDOW_MS } from '../../src/queue/adaptive.js'
import {
  admin,
  admitTick,
  createConcert,
  type Fan,
  holdSeat,
  json,
  pay,
  queuedFans,
  startTestApp,
  startTestApps,
  type TestApp,
} from '../support/app.js'
import {
  deploymentTargets,
  freshPostgresSchema,
  postgresRedisTarget,
  postgresTarget,
  REDIS_URL,
  type StoreTarget,
} from '../support/stores.js'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js'

/** Rate admission, one tick a second: two ticks a window; adaptive on, steering to a target fast holds stay well under. */
const adaptiveEnv = (env: Record<string, string> = {}) => ({
  QUEUE_STRATEGY: 'rate',
  QUEUE_TICK_MS: '1000',
  QUEUE_ADAPTIVE: 'true',
  QUEUE_ADAPTIVE_MIN_PER_TICK: '1',
  QUEUE_ADAPTIVE_TARGET_MS: '2000',
  ...env,
})

const sections = [{ name: 'A', rows: 10, seatsPerRow: 20, price: 100 }]

/** Moves every clock to the next start of an adaptive window (the clocks of a deployment agree). */
function toWindowStart(...apps: TestApp[]) {
  const now = apps[0]!.clock.now()
  const ms = ADAPTIVE_WINDOW_MS - (now % ADAPTIVE_WINDOW_MS)
  for (const t of apps) t.clock.advance(ms)
}

/** Moves every clock on by `ms`. */
function advance(ms: number, ...apps: TestApp[]) {
  for (const t of apps) t.clock.advance(ms)
}

const report = async (t: TestApp, concertId: string) =>
  json(await t.app.inject({ url: `/v1/admin/concerts/${concertId}/queue`, headers: admin }))

/** A gauge of one concert in a scrape; undefined when the scrape has no such series. */
async function gauge(t: TestApp, name: string, concertId: string): Promise<number | undefined> {
  const text = (await t.app.inject({ url: '/metrics', headers: admin })).body
  const value = new RegExp(`^${name}\\{concert="${concertId}"\\} (\\S+)$`, 'm').exec(text)?.[1]
  return value === undefined ? undefined : Number(value)
}

/** The fans admitted so far, in line order: rate admission takes the line from the front. */
async function admittedSoFar(t: TestApp, concertId: string, fans: Fan[]): Promise<Fan[]> {
  return fans.slice(0, (await report(t, concertId)).active)
}

describe.each(deploymentTargets)('adaptive admission on $name', (target) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startTestApp(target, adaptiveEnv({ QUEUE_ADMIT_PER_TICK: '2', QUEUE_ADAPTIVE_MAX_PER_TICK: '12' }))
  })
  afterAll(() => t.app.close())

  it('when holds answer fast while fans wait and take every slot, then the rate grows window by window to the max, and says why', async () => {
    const { concertId, scheduleId } = await createConcert(t, { sections })
    const fans = await queuedFans(t, concertId, 130)
    toWindowStart(t)
    const rates: number[] = []
    let seat = 0
    let held = 0
    for (let w = 0; w < 8; w++) {
      // The window's first tick admits; two of the newly admitted hold a seat each.
      await admitTick(t, 0)
      const admitted = await admittedSoFar(t, concertId, fans)
      for (const fan of admitted.slice(held, held + 2)) expect((await holdSeat(t, fan.headers, scheduleId, ++seat)).statusCode).toBe(201)
      held = admitted.length
      // Its second tick, in the middle, also decides the window before.
      await admitTick(t, 1000)
      rates.push((await report(t, concertId)).config.admitPerTick)
      advance(1000, t)
    }
    // Window 0 is decided in window 1, and so on: up by half each window (at least one), to the max.
    expect(rates).toEqual([2, 3, 4, 6, 9, 12, 12, 12])
    const { adaptive, waiting } = await report(t, concertId)
    expect(waiting).toBeGreaterThan(0)
    expect(adaptive).toMatchObject({ enabled: true, admitPerTick: 12, errorRate: 0, reason: 'at-max', decidedAt: expect.any(String) })
    expect(adaptive.latencyP90Ms).toBeGreaterThan(0)
    expect(adaptive.latencyP90Ms).toBeLessThan(1600)
    expect(adaptive.decision).toMatch(/^p90 \d+ ms, under the 2000 ms target: at the maximum, 12 a tick$/)
    expect(await gauge(t, 'stagedoor_queue_admit_per_tick', concertId)).toBe(12)
    expect(await gauge(t, 'stagedoor_queue_booking_error_ratio', concertId)).toBe(0)
    expect(await gauge(t, 'stagedoor_queue_booking_latency_p90_seconds', concertId)).toBeCloseTo(adaptive.latencyP90Ms / 1000, 3)
  })

  it('when nobody waits any more, then the rate holds however fast holds answer', async () => {
    const { concertId } = await createConcert(t, { sections })
    await queuedFans(t, concertId, 2)
    toWindowStart(t)
    await admitTick(t, 0)
    await admitTick(t, 1000)
    advance(1000, t)
    await admitTick(t, 0)
    await admitTick(t, 1000)
    const { adaptive } = await report(t, concertId)
    expect(adaptive).toMatchObject({ admitPerTick: 2, reason: 'line-empty', decision: 'nobody waits: holding at 2 a tick' })
  })

  it('when adaptive admission is off for a concert, then its rate stays as set and no decision is made', async () => {
    const { concertId } = await createConcert(t, { sections })
    const url = `/v1/admin/concerts/${concertId}/queue`
    expect((await t.app.inject({ method: 'PATCH', url, headers: admin, payload: { adaptive: { enabled: false } } })).statusCode).toBe(200)
    await queuedFans(t, concertId, 20)
    toWindowStart(t)
    for (let i = 0; i < 6; i++) await admitTick(t, 1000)
    expect((await report(t, concertId)).adaptive).toEqual({
      enabled: false,
      admitPerTick: 2,
      latencyP90Ms: null,
      errorRate: null,
      reason: null,
      decision: null,
      decidedAt: null,
    })
    expect(await gauge(t, 'stagedoor_queue_admit_per_tick', concertId)).toBe(2)
    expect(await gauge(t, 'stagedoor_queue_booking_error_ratio', concertId)).toBeUndefined()
  })
})

/** The target's PostgreSQL behind a proxy the test can stall. */
async function behindProxy(base: StoreTarget): Promise<{ target: StoreTarget; proxy: TcpProxy }> {
  const url = new URL(await freshPostgresSchema())
  const proxy = await startTcpProxy(Number(url.port || 5432), url.hostname)
  url.port = String(proxy.port)
  url.hostname = '127.0.0.1'
  const redis = base === postgresRedisTarget ? { redisUrl: REDIS_URL } : {}
  return {
    proxy,
    target: { name: `stalled-${base.name}`, fresh: async () => ({ databaseUrl: url.toString(), ...redis, dataDir: 'memory://' }) },
  }
}

describe.each([postgresTarget, postgresRedisTarget])('adaptive admission when PostgreSQL stalls, on $name', (base) => {
  let proxy: TcpProxy
  let t: TestApp
  beforeAll(async () => {
    const stalled = await behindProxy(base)
    proxy = stalled.proxy
    t = await startTestApp(
      stalled.target,
      adaptiveEnv({ QUEUE_ADMIT_PER_TICK: '40', QUEUE_ADAPTIVE_MAX_PER_TICK: '100', DB_TIMEOUT_MS: '300', REDIS_TIMEOUT_MS: '500' }),
    )
  })
  afterAll(async () => {
    proxy.resume()
    await t.app.close()
    await proxy.cut()
  })

  it('when holds and payments answer 503 because the database does not, then the rate halves on the next decision, visibly', async () => {
    const { concertId, scheduleId } = await createConcert(t, { sections })
    const fans = await queuedFans(t, concertId, 60)
    toWindowStart(t)
    await admitTick(t, 0)
    // One hold goes through; then the database stops answering, and holds and a payment fail.
    const first = await holdSeat(t, fans[0]!.headers, scheduleId, 1)
    expect(first.statusCode).toBe(201)
    proxy.stall()
    try {
      for (const [i, fan] of fans.slice(1, 4).entries()) {
        const res = await holdSeat(t, fan.headers, scheduleId, 2 + i)
        expect(res.statusCode).toBe(503)
        expect(json(res)).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' })
      }
      expect((await pay(t, fans[0]!.headers, json(first).reservationId)).statusCode).toBe(503)
    } finally {
      proxy.resume()
    }
    // The database is back before the decision; the decision itself is one window later.
    for (let i = 0; (await t.app.inject({ url: '/ready' })).statusCode !== 200; i++) {
      if (i > 100) throw new Error('the database did not come back')
      await new Promise((r) => setTimeout(r, 100))
    }
    await admitTick(t, 1000)
    expect((await report(t, concertId)).config.admitPerTick).toBe(40)
    advance(1000, t)
    await admitTick(t, 0)
    await admitTick(t, 1000)
    const { config, adaptive } = await report(t, concertId)
    expect(config.admitPerTick).toBe(20)
    expect(adaptive).toMatchObject({
      admitPerTick: 20,
      errorRate: 0.8,
      reason: 'errors',
      decision: '80% of holds and payments failed: halved to 20 a tick',
    })
    expect(await gauge(t, 'stagedoor_queue_admit_per_tick', concertId)).toBe(20)
    expect(await gauge(t, 'stagedoor_queue_booking_error_ratio', concertId)).toBe(0.8)
  })
})

describe.each([postgresTarget, postgresRedisTarget])('adaptive admission across two processes on $name', (target) => {
  let a: TestApp
  let b: TestApp
  beforeAll(async () => {
    const apps = await startTestApps(target, 2, adaptiveEnv({ QUEUE_ADMIT_PER_TICK: '4', QUEUE_ADAPTIVE_MAX_PER_TICK: '100' }))
    a = apps[0]!
    b = apps[1]!
  })
  afterAll(async () => {
    await a.app.close()
    await b.app.close()
  })

  /** One tick of each process at the clocks' time; `together`: at once. */
  const tickBoth = async (together: boolean) => {
    if (together) await Promise.all([a.app.components.queue.tick(), b.app.components.queue.tick()])
    else for (const t of [a, b]) await t.app.components.queue.tick()
  }

  it('when holds run on one process, then the other decides on them, one decision a window, and both admit at the new rate', async () => {
    const { concertId, scheduleId } = await createConcert(a, { sections })
    const fans = await queuedFans(a, concertId, 80)
    toWindowStart(a, b)
    await tickBoth(false)
    // Only b serves holds in this window; a has no counts of its own.
    for (const [i, fan] of fans.slice(0, 3).entries()) expect((await holdSeat(b, fan.headers, scheduleId, 1 + i)).statusCode).toBe(201)
    advance(1000, a, b)
    await tickBoth(false)
    advance(1000, a, b)
    await tickBoth(false)
    // b has sent its counts by now; in the middle of the next window a ticks first and decides.
    advance(1000, a, b)
    await a.app.components.queue.tick()
    const decided = await report(a, concertId)
    expect(decided.adaptive).toMatchObject({ admitPerTick: 6, reason: 'headroom', errorRate: 0 })
    expect(decided.adaptive.latencyP90Ms).toBeGreaterThan(0)
    await b.app.components.queue.tick()
    // b did not decide again: one step, and the same decision on both.
    expect((await report(b, concertId)).adaptive).toEqual(decided.adaptive)

    // The next windows' decisions race: still one step a window, the same decision on both
    // processes, and each admits at the new rate from its next tick.
    for (const expected of [9, 13]) {
      advance(1000, a, b)
      await tickBoth(true)
      advance(1000, a, b)
      await tickBoth(true)
      const [ra, rb] = [(await report(a, concertId)).adaptive, (await report(b, concertId)).adaptive]
      expect(ra).toMatchObject({ reason: 'headroom', decision: expect.stringMatching(new RegExp(`: up to ${expected} a tick$`)) })
      expect({ ...rb, admitPerTick: 0 }).toEqual({ ...ra, admitPerTick: 0 })
    }
    advance(1000, a, b)
    const before = (await report(a, concertId)).active
    await tickBoth(true)
    for (const t of [a, b]) expect((await report(t, concertId)).config.admitPerTick).toBe(13)
    expect((await report(b, concertId)).active - before).toBe(13)
  })
})
