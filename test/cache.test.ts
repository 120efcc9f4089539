import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { LocalCache } from '../src/platform/cache/cache.js'
import { RedisCache } from '../src/platform/cache/redis-cache.js'
import type { App } from '../src/platform/http/types.js'
import { Metrics } from '../src/platform/metrics.js'
import { connectRedis, type RedisClient } from '../src/platform/redis/client.js'
import { admittedFans, createConcert, type Fan, json, testConfig } from './support/app.js'
import { ManualClock } from './support/clock.js'
import { postgresRedisTarget, postgresTarget, REDIS_URL } from './support/stores.js'

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

  it('when 100 readers in four processes miss one key in Redis, then it is loaded once for all', async () => {
    const prefix = `test:${randomBytes(4).toString('hex')}:`
    const caches = [0, 1, 2, 3].map(() => new RedisCache(redis, new ManualClock(), new Metrics(), prefix))
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
    const a = new RedisCache(redis, clock, new Metrics(), prefix)
    const b = new RedisCache(redis, clock, new Metrics(), prefix)
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
  const apps: App[] = []
  const clocks = [new ManualClock(), new ManualClock()]
  let concertId: string
  let scheduleId: string
  let fans: Fan[][]

  beforeAll(async () => {
    const config = await testConfig(target, { QUEUE_ADMIT_PER_TICK: '1000', QUEUE_MAX_ACTIVE: '10000' })
    const redisPrefix = `test:${randomBytes(4).toString('hex')}:`
    for (const clock of clocks) apps.push(await buildApp({ config, clock, backgroundLoops: false, redisPrefix }))
    ;({ concertId, scheduleId } = await createConcert(apps[0]!, clocks[0]!))
    fans = []
    for (const [i, app] of apps.entries()) {
      // The instances share one clock reading, as processes on NTP do; each admission runs in a new tick.
      clocks[i]!.advance(Math.max(...clocks.map((c) => c.now())) - clocks[i]!.now())
      fans.push(await admittedFans({ app, clock: clocks[i]!, config }, concertId, 60))
    }
    clocks[0]!.advance(clocks[1]!.now() - clocks[0]!.now())
  })
  afterAll(async () => {
    for (const app of apps) await app.close()
  })

  const seats = (i: number, fan: Fan) => apps[i]!.inject({ url: `/v1/schedules/${scheduleId}/seats`, headers: fan.headers })
  const hold = (i: number, fan: Fan, seatNo: number) =>
    apps[i]!.inject({ method: 'POST', url: '/v1/reservations', headers: fan.headers, payload: { scheduleId, seatNo } })

  it('when 60 fans on each instance read a cold seat map at once, then the database is read once per process, or once in all with Redis', async () => {
    const before = (await loads(apps[0]!, 'seats')) + (await loads(apps[1]!, 'seats'))
    const results = await Promise.all([0, 1].flatMap((i) => fans[i]!.map((f) => seats(i, f))))
    expect(results.every((r) => r.statusCode === 200)).toBe(true)
    const after = (await loads(apps[0]!, 'seats')) + (await loads(apps[1]!, 'seats'))
    expect(after - before).toBe(target === postgresRedisTarget ? 1 : 2)
  })

  it('when a fan holds a seat, then their instance shows it at once and the other within a second', async () => {
    await Promise.all([seats(0, fans[0]![0]!), seats(1, fans[1]![0]!)])
    expect((await hold(0, fans[0]![1]!, 10)).statusCode).toBe(201)
    expect(json(await seats(0, fans[0]![1]!)).seats[9].status).toBe('HELD')
    // The other instance may still show its cached map, for at most a second.
    const other = json(await seats(1, fans[1]![1]!)).seats[9].status
    expect(['AVAILABLE', 'HELD']).toContain(other)
    clocks[1]!.advance(1001)
    expect(json(await seats(1, fans[1]![1]!)).seats[9].status).toBe('HELD')
  })

  it('when a stale map shows a taken seat as free, then holding it still fails', async () => {
    await seats(1, fans[1]![2]!)
    expect((await hold(0, fans[0]![2]!, 20)).statusCode).toBe(201)
    const stale = json(await seats(1, fans[1]![2]!)).seats[19].status
    const res = await hold(1, fans[1]![2]!, 20)
    expect(res.statusCode).toBe(409)
    expect(json(res).code).toBe('SEAT_UNAVAILABLE')
    expect(['AVAILABLE', 'HELD']).toContain(stale)
  })
})
