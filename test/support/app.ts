import { randomBytes } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.js'
import { type Config, loadConfig } from '../../src/config.js'
import type { App } from '../../src/platform/http/types.js'
import { ManualClock } from './clock.js'
import type { StoreTarget } from './stores.js'

const ADMIN_KEY = 'test-admin-key-0123456789'

export async function testConfig(target: StoreTarget, env: Record<string, string> = {}): Promise<Config> {
  const store = await target.fresh()
  return loadConfig({
    DATA_DIR: store.dataDir,
    ...(store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {}),
    ...(store.redisUrl ? { REDIS_URL: store.redisUrl } : {}),
    AUTH_SECRET: 'test-secret-test-secret-test-secret-0123',
    ADMIN_KEY,
    DEMO_DATA: 'false',
    LOG_LEVEL: 'silent',
    ...env,
  })
}

export interface TestApp {
  app: App
  clock: ManualClock
  config: Config
}

/** An app on a fresh database of this target, with a clock the test moves. */
export async function startTestApp(target: StoreTarget, env: Record<string, string> = {}): Promise<TestApp> {
  const config = await testConfig(target, env)
  const clock = new ManualClock()
  const app = await buildApp({ config, clock, backgroundLoops: false, redisPrefix: `test:${randomBytes(4).toString('hex')}:` })
  await app.ready()
  return { app, clock, config }
}

export const admin = { 'x-admin-key': ADMIN_KEY }

export function json<T = any>(res: LightMyRequestResponse): T {
  return res.json() as T
}

export async function createUser(app: App): Promise<{ userId: string; accessToken: string; auth: Record<string, string> }> {
  const res = await app.inject({ method: 'POST', url: '/v1/users' })
  if (res.statusCode !== 201) throw new Error(`sign-up failed: ${res.statusCode} ${res.body}`)
  const body = res.json() as { userId: string; accessToken: string }
  return { ...body, auth: { authorization: `Bearer ${body.accessToken}` } }
}

/** A concert with one schedule starting in `daysAhead` days, through the admin API. */
export async function createConcert(
  app: App,
  clock: ManualClock,
  options: {
    sections?: { name: string; rows: number; seatsPerRow: number; price: number }[]
    queueOpensAt?: string
    saleOpensAt?: string
  } = {},
): Promise<{ concertId: string; scheduleId: string; totalSeats: number }> {
  const concert = await app.inject({
    method: 'POST',
    url: '/v1/admin/concerts',
    headers: admin,
    payload: {
      title: 'Test Concert',
      performer: 'Test Band',
      venue: 'Test Hall',
      ...(options.queueOpensAt ? { queueOpensAt: options.queueOpensAt } : {}),
      ...(options.saleOpensAt ? { saleOpensAt: options.saleOpensAt } : {}),
    },
  })
  if (concert.statusCode !== 201) throw new Error(`concert: ${concert.statusCode} ${concert.body}`)
  const { concertId } = concert.json() as { concertId: string }
  const schedule = await app.inject({
    method: 'POST',
    url: `/v1/admin/concerts/${concertId}/schedules`,
    headers: admin,
    payload: {
      startsAt: new Date(clock.now() + 30 * 24 * 3600 * 1000).toISOString(),
      sections: options.sections ?? [{ name: 'A', rows: 5, seatsPerRow: 10, price: 50_000 }],
    },
  })
  if (schedule.statusCode !== 201) throw new Error(`schedule: ${schedule.statusCode} ${schedule.body}`)
  return { concertId, ...(schedule.json() as { scheduleId: string; totalSeats: number }) }
}

export interface Fan {
  userId: string
  accessToken: string
  queueToken: string
  /** Bearer and Queue-Token headers together, for gated routes. */
  headers: Record<string, string>
  auth: Record<string, string>
}

/** Signs up `n` users, joins them to the concert's queue and runs one admission tick. */
export async function admittedFans(t: TestApp, concertId: string, n: number): Promise<Fan[]> {
  const fans: Fan[] = []
  for (let i = 0; i < n; i++) {
    const u = await createUser(t.app)
    const joined = await t.app.inject({ method: 'POST', url: `/v1/concerts/${concertId}/queue`, headers: u.auth })
    const queueToken = (joined.json() as { token: string }).token
    fans.push({ ...u, queueToken, headers: { ...u.auth, 'queue-token': queueToken } })
  }
  t.clock.advance(t.config.queue.tickMs)
  await t.app.components.queue.tick()
  return fans
}

/** Listens on a free loopback port, for tests that fire real parallel HTTP requests. */
export async function listen(app: App): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address() as { port: number }
  return `http://127.0.0.1:${address.port}`
}

export async function http(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...options.headers, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}
