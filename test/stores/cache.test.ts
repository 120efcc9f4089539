import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AnnouncedCache } from '../../src/platform/cache/announced-cache.js'
import { LocalCache } from '../../src/platform/cache/cache.js'
import { RedisCache } from '../../src/platform/cache/redis-cache.js'
import type { App } from '../../src/platform/http/types.js'
import { Metrics } from '../../src/platform/metrics.js'
import { connectRedis, type RedisClient } from '../../src/platform/redis/client.js'
import {
  admin,
  admittedFans,
  createConcert,
  createUser,
  type Fan,
  holdSeat,
  joinQueue,
  json,
  seatMap,
  startTestApps,
  type TestApp,
} from '../support/app.js'
import { ManualClock } from '../support/clock.js'
import { postgresRedisTarget, postgresTarget, REDIS_URL } from '../support/stores.js'

const loads = async (app: App, cache: string) => {
  const metric = await app.components.metrics.cacheRequests.get()
  return metric.values.filter((v) => v.labels.cache === cache && v.labels.result === 'load').reduce((n, v) => n + v.value, 0)
}

describe('the caches themselves', () => {
  let redis: RedisClient
  beforeAll(async () => {
    redis = await connectRedis(REDIS_URL)
  })
  afterAll(() => redis.quit())

  const slowLoader = () => {
    let calls = 0
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    return {
      load: async () => {
        calls++
        await gate
        return { calls }
      },
      release: () => release(),
      calls: () => calls,
    }
  }

  it('when 100 readers miss one key in one process, then it is loaded once', async () => {
    const cache = new LocalCache(new ManualClock(), new Metrics())
    const loader = slowLoader()
    const reads = Array.from({ length: 100 }, () => cache.get('k', 1000, loader.load))
    loader.release()
    const values = await Promise.all(reads)
    expect(loader.calls()).toBe(1)
    expect(new Set(values).size).toBe(1)
  })

  it('when a key is invalidated during its load, then readers after the invalidation load again', async () => {
    const cache = new LocalCache(new ManualClock(), new Metrics())
    const first = slowLoader()
    const before = cache.get('k', 60_000, first.load)
    await cache.invalidate('k')
    const second = slowLoader()
    const after = cache.get('k', 60_000, second.load)
    first.release()
    second.release()
    await Promise.all([before, after])
    expect(second.calls()).toBe(1)
    // The stale load was not kept: a third read loads neither again nor the stale value.
    expect(await cache.get('k', 60_000, async () => ({ calls: -1 }))).toEqual({ calls: 1 })
  })

  it('when a cache without Redis is invalidated, then the keys kept longer than a second are announced, in one announcement, and heard ones are dropped', async () => {
    const announced: string[][] = []
    const cache = new AnnouncedCache(new LocalCache(new ManualClock(), new Metrics()), async (keys) => {
      announced.push(keys)
    })
    await cache.get('concert:c1', 30_000, async () => 1)
    await cache.get('taken:c1', 1000, async () => 2)
    await cache.invalidate('concert:c1', 'taken:c1', 'never-read:c1')
    expect(announced).toEqual([['concert:c1', 'never-read:c1']])
    await cache.invalidate('taken:c1')
    expect(announced).toHaveLength(1)
    await cache.get('concert:c2', 30_000, async () => 'old')
    await cache.heard(['concert:c2'])
    expect(await cache.get('concert:c2', 30_000, async () => 'new')).toBe('new')
    await cache.forgetAll()
    expect(await cache.get('concert:c2', 30_000, async () => 'newer')).toBe('newer')
  })

  it('when 100 readers in four processes miss one key in Redis, then it is loaded once for all', async () => {
    const prefix = `test:${randomBytes(4).toString('hex')}:`
    const caches = [0, 1, 2, 3].map(() => new RedisCache({ redis, clock: new ManualClock(), metrics: new Metrics(), prefix }))
    const loader = slowLoader()
    const reads = Array.from({ length: 100 }, (_, i) => caches[i % 4]!.get('k', 5000, loader.load))
    setTimeout(loader.release, 50)
    const values = await Promise.all(reads)
    expect(loader.calls()).toBe(1)
    expect(values.every((v) => v.calls === 1)).toBe(true)
  })

  it('when a Redis load races an invalidation, then its stale value is not stored', async () => {
    const prefix = `test:${randomBytes(4).toString('hex')}:`
    const clock = new ManualClock()
    const a = new RedisCache({ redis, clock, metrics: new Metrics(), prefix })
    const b = new RedisCache({ redis, clock, metrics: new Metrics(), prefix })
    const stale = slowLoader()
    const reading = a.get('k', 60_000, stale.load)
    await new Promise((r) => setTimeout(r, 20))
    await b.invalidate('k')
    stale.release()
    await reading
    expect(await redis.get(`${prefix}cache:{k}`)).toBeNull()
    expect(await b.get('k', 60_000, async () => ({ calls: 99 }))).toEqual({ calls: 99 })
  })
})

describe.each([postgresTarget, postgresRedisTarget])('cached seat maps on $name, two app instances', (target) => {
  let instances: TestApp[] = []
  afterEach(async () => {
    for (const t of instances.splice(0)) await t.app.close()
  })

  /** Two instances on one fresh database, a concert, and `n` fans admitted through each instance. */
  const setUp = async (n: number) => {
    instances = await startTestApps(target, 2, { QUEUE_ADMIT_PER_TICK: '1000', QUEUE_MAX_ACTIVE: '10000' })
    const clocks = instances.map((t) => t.clock)
    // A seat for each fan admitted: no more are admitted at once than seats left to sell.
    const { concertId, scheduleId } = await createConcert(instances[0]!, {
      sections: [{ name: 'A', rows: 3, seatsPerRow: 50, price: 50_000 }],
    })
    const fans: Fan[][] = []
    for (const [i, t] of instances.entries()) {
      // The instances share one clock reading, as processes on NTP do; each admission runs in a new tick.
      clocks[i]!.advance(Math.max(...clocks.map((c) => c.now())) - clocks[i]!.now())
      fans.push(await admittedFans(t, concertId, n))
    }
    clocks[0]!.advance(clocks[1]!.now() - clocks[0]!.now())
    const seats = (i: number, fan: Fan) => seatMap(instances[i]!, fan.headers, scheduleId)
    const hold = (i: number, fan: Fan, seatNo: number) => holdSeat(instances[i]!, fan.headers, scheduleId, seatNo)
    return { fans, seats, hold }
  }

  it('when 60 fans on each instance read a cold seat map at once, then the database is read once per process, or once in all with Redis', async () => {
    const { fans, seats } = await setUp(60)
    const [a, b] = instances.map((t) => t.app)
    const before = (await loads(a!, 'seats')) + (await loads(b!, 'seats'))
    const results = await Promise.all([0, 1].flatMap((i) => fans[i]!.map((f) => seats(i, f))))
    expect(results.every((r) => r.statusCode === 200)).toBe(true)
    const after = (await loads(a!, 'seats')) + (await loads(b!, 'seats'))
    expect(after - before).toBe(target === postgresRedisTarget ? 1 : 2)
  })

  it('when a fan holds a seat, then their instance shows it at once and the other within a second', async () => {
    const { fans, seats, hold } = await setUp(2)
    await Promise.all([seats(0, fans[0]![0]!), seats(1, fans[1]![0]!)])
    expect((await hold(0, fans[0]![1]!, 10)).statusCode).toBe(201)
    expect(json(await seats(0, fans[0]![1]!)).seats[9].status).toBe('HELD')
    // The other instance may still show its cached map, for at most a second.
    const other = json(await seats(1, fans[1]![1]!)).seats[9].status
    expect(['AVAILABLE', 'HELD']).toContain(other)
    instances[1]!.clock.advance(1001)
    expect(json(await seats(1, fans[1]![1]!)).seats[9].status).toBe('HELD')
  })

  it('when the operator opens a line on one instance, then the other lets fans join within a second, not when its cached concert expires', async () => {
    instances = await startTestApps(target, 2)
    const [a, b] = instances as [TestApp, TestApp]
    b.clock.advance(a.clock.now() - b.clock.now())
    const { concertId } = await createConcert(a, { queueOpensAt: new Date(a.clock.now() + 3_600_000).toISOString() })
    const fan = await createUser(b)
    const early = await joinQueue(b, concertId, fan.auth)
    expect(early.statusCode).toBe(409)
    expect(json(early).code).toBe('QUEUE_NOT_OPEN')
    const opened = await a.app.inject({
      method: 'PATCH',
      url: `/v1/admin/concerts/${concertId}`,
      headers: admin,
      payload: { queueOpensAt: new Date(a.clock.now() - 60_000).toISOString() },
    })
    expect(opened.statusCode, opened.body).toBe(200)
    // Each process may keep its own copy for a second; the concert's is cached for 30 s, which this clock never reaches.
    b.clock.advance(1001)
    let joined = await joinQueue(b, concertId, fan.auth)
    // Without Redis the change is announced through PostgreSQL: heard a moment after it commits.
    for (const started = performance.now(); joined.statusCode === 409 && performance.now() - started < 5000; ) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      joined = await joinQueue(b, concertId, fan.auth)
    }
    expect(joined.statusCode, joined.body).toBe(201)
  })

  it('when a stale map shows a taken seat as free, then holding it still fails', async () => {
    const { fans, seats, hold } = await setUp(1)
    await seats(1, fans[1]![0]!)
    expect((await hold(0, fans[0]![0]!, 20)).statusCode).toBe(201)
    const stale = json(await seats(1, fans[1]![0]!)).seats[19].status
    const res = await hold(1, fans[1]![0]!, 20)
    expect(res.statusCode).toBe(409)
    expect(json(res).code).toBe('SEAT_UNAVAILABLE')
    expect(['AVAILABLE', 'HELD']).toContain(stale)
  })
})
