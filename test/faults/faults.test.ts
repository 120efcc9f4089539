import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/platform/db/database.js'
import {
  admin,
  admittedFans,
  chargeBalance,
  createConcert,
  holdSeat,
  json,
  pay,
  queuedFans,
  queueStatus,
  readBalance,
  startTestApp,
  type TestApp,
} from '../support/app.js'
import { type PrivateRedis, startRedisServer } from '../support/redis-server.js'
import { freshPostgresSchema, REDIS_URL, type StoreTarget } from '../support/stores.js'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js'

/** Waits until `ready` holds, looking every 100 ms for at most 10 s; returns how long it took. */
async function until(ready: () => Promise<boolean>, limitMs = 10_000): Promise<number> {
  const started = performance.now()
  while (!(await ready())) {
    if (performance.now() - started > limitMs) throw new Error(`not ready within ${limitMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return performance.now() - started
}

/** Times a call that must answer promptly while a dependency hangs. */
async function timed<T>(call: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now()
  const result = await call()
  return { result, ms: performance.now() - started }
}

const problem = (res: { statusCode: number; headers: Record<string, unknown>; body: string }) => ({
  status: res.statusCode,
  code: (JSON.parse(res.body) as { code?: string }).code,
  retryAfter: res.headers['retry-after'],
})

describe('when Redis freezes, dies and comes back', () => {
  let redis: PrivateRedis
  let t: TestApp
  beforeAll(async () => {
    redis = await startRedisServer({ aof: true })
    const target: StoreTarget = {
      name: 'postgres+private-redis',
      fresh: async () => ({ databaseUrl: await freshPostgresSchema(), redisUrl: redis.url, dataDir: 'memory://' }),
    }
    t = await startTestApp(target, { REDIS_TIMEOUT_MS: '300', DB_TIMEOUT_MS: '1000' })
  })
  afterAll(async () => {
    await t.app.close()
    await redis.stop()
  })

  it('when Redis is paused, then polls and /ready answer 503 within the bound, and answer again once it resumes', async () => {
    const { concertId } = await createConcert(t)
    const [fan] = await queuedFans(t, concertId, 1)
    redis.pause()
    try {
      const poll = await timed(() => queueStatus(t, fan!.queueToken))
      expect(problem(poll.result)).toEqual({ status: 503, code: 'DEPENDENCY_UNAVAILABLE', retryAfter: '5' })
      expect(poll.ms).toBeLessThan(2000)
      const ready = await timed(() => t.app.inject({ url: '/ready' }))
      expect(problem(ready.result)).toMatchObject({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' })
      expect(ready.ms).toBeLessThan(2000)
    } finally {
      redis.resume()
    }
    expect((await t.app.inject({ url: '/ready' })).statusCode).toBe(200)
    expect(json(await queueStatus(t, fan!.queueToken))).toMatchObject({ status: 'WAITING', position: 1 })
  })

  it('when Redis is down, then a live hold is paid from the database alone, and its token ends once Redis is back', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    await chargeBalance(t, fan!.auth, 100_000)
    const held = json(await holdSeat(t, fan!.headers, scheduleId, 4))
    await redis.kill()
    let db: Db
    try {
      const paid = await pay(t, fan!.headers, held.reservationId, 'pay-while-redis-is-down')
      expect(paid.statusCode).toBe(201)
      expect(await readBalance(t, fan!.auth)).toBe(50_000)
      // Reads fail apart from Redis too: the catalog reads through to the database.
      expect((await t.app.inject({ url: '/v1/concerts' })).statusCode).toBe(200)
      db = t.app.components.database.db
      const owed = await sql<{ n: number }>`select count(*)::int as n from queue_owed_ends`.execute(db)
      expect(owed.rows[0]!.n).toBe(1)
    } finally {
      await redis.restart()
    }
    await until(async () => (await t.app.inject({ url: '/ready' })).statusCode === 200)
    // The loop of any process pays the owed end once Redis answers.
    t.clock.advance(3000)
    expect(await t.app.components.queue.settleOwedEnds()).toBe(1)
    expect(json(await queueStatus(t, fan!.queueToken))).toMatchObject({ status: 'EXPIRED' })
    const owed = await sql<{ n: number }>`select count(*)::int as n from queue_owed_ends`.execute(db)
    expect(owed.rows[0]!.n).toBe(0)
  })
})

describe('when PostgreSQL stalls behind a proxy', () => {
  let proxy: TcpProxy
  let t: TestApp
  beforeAll(async () => {
    const url = new URL(await freshPostgresSchema())
    proxy = await startTcpProxy(Number(url.port || 5432), url.hostname)
    url.port = String(proxy.port)
    url.hostname = '127.0.0.1'
    const target: StoreTarget = {
      name: 'stalled-postgres+redis',
      fresh: async () => ({ databaseUrl: url.toString(), redisUrl: REDIS_URL, dataDir: 'memory://' }),
    }
    t = await startTestApp(target, { DB_TIMEOUT_MS: '500', REDIS_TIMEOUT_MS: '500', QUEUE_ADMIT_PER_TICK: '1' })
  })
  afterAll(async () => {
    proxy.resume()
    await t.app.close()
    await proxy.cut()
  })

  it('when the database hangs, then its routes and /ready answer 503 promptly, the Redis queue keeps polling and admitting, and all recovers', async () => {
    const { concertId } = await createConcert(t)
    const fans = await queuedFans(t, concertId, 3)
    // The admission loop has been running: it has read the concerts and settings before the stall.
    await t.app.components.queue.tick()
    expect((await t.app.inject({ url: '/metrics', headers: admin })).body).toMatch(/^stagedoor_outbox_lag_seconds \d/m)
    proxy.stall()
    try {
      const balance = await timed(() => t.app.inject({ url: '/v1/me/balance', headers: fans[0]!.auth }))
      expect(problem(balance.result)).toMatchObject({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' })
      expect(balance.ms).toBeLessThan(2500)
      const ready = await timed(() => t.app.inject({ url: '/ready' }))
      expect(problem(ready.result)).toMatchObject({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' })
      expect(ready.ms).toBeLessThan(2500)
      // The operator's scrape answers, the outbox lag at its last value, read before the stall.
      const scrape = await timed(() => t.app.inject({ url: '/metrics', headers: admin }))
      expect(scrape.result.statusCode).toBe(200)
      expect(scrape.result.body).toMatch(/^stagedoor_outbox_lag_seconds \d/m)
      expect(scrape.ms).toBeLessThan(2500)
      // The queue lives in Redis: fans keep their places and admission goes on, on the last settings known.
      expect(json(await queueStatus(t, fans[2]!.queueToken))).toMatchObject({ status: 'WAITING', position: 2 })
      t.clock.advance(t.config.queue.tickMs)
      await t.app.components.queue.tick()
      expect(json(await queueStatus(t, fans[1]!.queueToken))).toMatchObject({ status: 'ACTIVE' })
      expect(json(await queueStatus(t, fans[2]!.queueToken))).toMatchObject({ status: 'WAITING', position: 1 })
      // Seconds on, past what the caches of seats left keep: polls answer from what the process
      // last knew of the concert while it looks it up again, without waiting out the database's
      // timeout (500 ms here; twice that, one read after another, before they did).
      t.clock.advance(5000)
      const later = await timed(() => queueStatus(t, fans[2]!.queueToken))
      expect(json(later.result)).toMatchObject({ status: 'WAITING', position: 1 })
      expect(later.ms).toBeLessThan(500)
    } finally {
      proxy.resume()
    }
    expect(await until(async () => (await t.app.inject({ url: '/ready' })).statusCode === 200)).toBeLessThan(5000)
    expect((await t.app.inject({ url: '/v1/me/balance', headers: fans[0]!.auth })).statusCode).toBe(200)
  })

  it('when open connections are cut, then the next requests succeed on fresh ones', async () => {
    const { concertId } = await createConcert(t)
    await proxy.cutConnections()
    const answers = await Promise.all(Array.from({ length: 5 }, () => t.app.inject({ url: '/v1/concerts' })))
    // A request on a connection that died may fail once (503); the pool replaces it.
    for (const a of answers) expect([200, 503]).toContain(a.statusCode)
    expect((await t.app.inject({ url: '/v1/concerts' })).statusCode).toBe(200)
    expect(json(await t.app.inject({ url: '/v1/concerts' })).items.map((c: { concertId: string }) => c.concertId)).toContain(concertId)
  })
})

describe('when Redis restarts without persistence', () => {
  let redis: PrivateRedis
  let t: TestApp
  beforeAll(async () => {
    redis = await startRedisServer({ aof: false })
    const target: StoreTarget = {
      name: 'postgres+volatile-redis',
      fresh: async () => ({ databaseUrl: await freshPostgresSchema(), redisUrl: redis.url, dataDir: 'memory://' }),
    }
    t = await startTestApp(target, { REDIS_TIMEOUT_MS: '300' })
  })
  afterAll(async () => {
    await t.app.close()
    await redis.stop()
  })

  it('when the line is lost, then fans who poll again get their places back in their old order', async () => {
    const { concertId } = await createConcert(t)
    const fans = await queuedFans(t, concertId, 4)
    await redis.kill()
    await redis.restart()
    const recoveredMs = await until(async () => (await t.app.inject({ url: '/ready' })).statusCode === 200)
    // They come back in reverse order; each is put back by its token, before those who come later.
    expect(json(await queueStatus(t, fans[3]!.queueToken))).toMatchObject({ status: 'WAITING', position: 1 })
    expect(json(await queueStatus(t, fans[1]!.queueToken))).toMatchObject({ status: 'WAITING', position: 1 })
    expect(json(await queueStatus(t, fans[2]!.queueToken))).toMatchObject({ status: 'WAITING', position: 2 })
    expect(json(await queueStatus(t, fans[0]!.queueToken))).toMatchObject({ status: 'WAITING', position: 1 })
    expect(json(await queueStatus(t, fans[3]!.queueToken))).toMatchObject({ status: 'WAITING', position: 4 })
    expect(recoveredMs).toBeLessThan(10_000)
  })
})
