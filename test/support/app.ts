import { randomBytes } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.js'
import { type Config, loadConfig } from '../../src/config.js'
import type { App } from '../../src/http/types.js'
import { ManualClock } from './clock.js'
import type { StoreTarget } from './stores.js'

export const ADMIN_KEY = 'test-admin-key-0123456789'

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
