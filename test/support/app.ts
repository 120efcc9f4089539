import { randomBytes } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll } from 'vitest'
import { type AppOptions, buildApp } from '../../src/app.js'
import { type Config, loadConfig } from '../../src/config.js'
import type { App } from '../../src/platform/http/types.js'
import { ManualClock } from './clock.js'
import { embeddedImage, type StoreTarget } from './stores.js'

type HeaderMap = Record<string, string>

/**
 * The secrets every test app and every test server process runs with; no rate limits (tests sign
 * up and join many fans from one address) and no overload refusals (test files share two cores,
 * and starting an embedded database blocks a worker's event loop for a while). The tests of those
 * set them.
 */
export const testSecrets = {
  AUTH_SECRET: 'test-secret-test-secret-test-secret-0123',
  ADMIN_KEY: 'test-admin-key-0123456789',
  RATE_SIGNUP_PER_MIN: '0',
  RATE_JOIN_PER_MIN: '0',
  RATE_HOLD_PER_MIN: '0',
  OVERLOAD_LAG_MS: '0',
}

/** The header that authenticates admin routes. */
export const admin = { 'x-admin-key': testSecrets.ADMIN_KEY }

/** Config on a fresh database of this target: test secrets, no demo data, silent logs; `env` overrides. */
export async function testConfig(target: StoreTarget, env: Record<string, string> = {}): Promise<Config> {
  const store = await target.fresh()
  return loadConfig({
    DATA_DIR: store.dataDir,
    ...(store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {}),
    ...(store.redisUrl ? { REDIS_URL: store.redisUrl } : {}),
    ...testSecrets,
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

/**
 * `n` instances of the app on one fresh database of this target (and one Redis prefix), as
 * processes of one deployment; each has a clock of its own that the test moves.
 */
export async function startTestApps(
  target: StoreTarget,
  n: number,
  env: Record<string, string> = {},
  options: Pick<AppOptions, 'resolve'> = {},
): Promise<TestApp[]> {
  const config = await testConfig(target, env)
  const redisPrefix = `test:${randomBytes(4).toString('hex')}:`
  const instances: TestApp[] = []
  for (let i = 0; i < n; i++) {
    const clock = new ManualClock()
    const app = await buildApp({ config, clock, backgroundLoops: false, redisPrefix, embeddedImage: embeddedImage(), ...options })
    await app.ready()
    instances.push({ app, clock, config })
  }
  return instances
}

/** An app on a fresh database of this target, with a clock the test moves. */
export async function startTestApp(target: StoreTarget, env: Record<string, string> = {}): Promise<TestApp> {
  const [t] = await startTestApps(target, 1, env)
  return t!
}

/**
 * The app of the enclosing `describe`, shared by its tests (each test makes its own concert and
 * users): started before them and closed after them. Its fields are set in that `beforeAll`, so
 * read them only inside hooks and tests.
 */
export function sharedTestApp(target: StoreTarget, env: Record<string, string> = {}): TestApp {
  const t = {} as TestApp
  beforeAll(async () => {
    Object.assign(t, await startTestApp(target, env))
  })
  afterAll(() => t.app?.close())
  return t
}

/**
 * Apps shared by the describes of one file, each test still making its own concert and users:
 * `shared(target, env)` is the app on that target with that environment, started by the first
 * describe that asks for it and closed when the file ends. Call it at the top of the file.
 */
export function fileTestApps(): { shared(target: StoreTarget, env?: Record<string, string>): TestApp } {
  const apps = new Map<string, Promise<TestApp>>()
  afterAll(async () => {
    const started = await Promise.allSettled(apps.values())
    apps.clear()
    for (const s of started) if (s.status === 'fulfilled') await s.value.app.close()
  })
  return {
    shared(target, env = {}) {
      const t = {} as TestApp
      beforeAll(async () => {
        const key = JSON.stringify([target.name, env])
        if (!apps.has(key)) apps.set(key, startTestApp(target, env))
        Object.assign(t, await apps.get(key))
      })
      return t
    },
  }
}

/** The JSON body of an injected response. */
export function json<T = any>(res: LightMyRequestResponse): T {
  return res.json() as T
}

export interface User {
  userId: string
  accessToken: string
  /** The Bearer header with the access token. */
  auth: HeaderMap
}

const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` })
const idempotencyKey = (key: string | undefined): HeaderMap => (key ? { 'idempotency-key': key } : {})

/** Signs up a new user. */
export async function createUser(t: TestApp): Promise<User> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/users' })
  if (res.statusCode !== 201) throw new Error(`sign-up failed: ${res.statusCode} ${res.body}`)
  const body = res.json() as { userId: string; accessToken: string }
  return { ...body, auth: bearer(body.accessToken) }
}

/** A concert with one schedule starting 30 days from the test's clock, through the admin API. */
export async function createConcert(
  t: TestApp,
  options: {
    sections?: { name: string; rows: number; seatsPerRow: number; price: number }[]
    queueOpensAt?: string
    presaleOpensAt?: string
    saleOpensAt?: string
  } = {},
): Promise<{ concertId: string; scheduleId: string; totalSeats: number }> {
  const concert = await t.app.inject({
    method: 'POST',
    url: '/v1/admin/concerts',
    headers: admin,
    payload: {
      title: 'Test Concert',
      performer: 'Test Band',
      venue: 'Test Hall',
      ...(options.queueOpensAt ? { queueOpensAt: options.queueOpensAt } : {}),
      ...(options.presaleOpensAt ? { presaleOpensAt: options.presaleOpensAt } : {}),
      ...(options.saleOpensAt ? { saleOpensAt: options.saleOpensAt } : {}),
    },
  })
  if (concert.statusCode !== 201) throw new Error(`concert: ${concert.statusCode} ${concert.body}`)
  const { concertId } = concert.json() as { concertId: string }
  const schedule = await t.app.inject({
    method: 'POST',
    url: `/v1/admin/concerts/${concertId}/schedules`,
    headers: admin,
    payload: {
      startsAt: new Date(t.clock.now() + 30 * 24 * 3600 * 1000).toISOString(),
      sections: options.sections ?? [{ name: 'A', rows: 5, seatsPerRow: 10, price: 50_000 }],
    },
  })
  if (schedule.statusCode !== 201) throw new Error(`schedule: ${schedule.statusCode} ${schedule.body}`)
  return { concertId, ...(schedule.json() as { scheduleId: string; totalSeats: number }) }
}

/**
 * A concert (with one schedule) in its presale: its line opened two minutes ago, its presale one
 * minute ago, and its sale opens in an hour; `times` (ms from the test's clock) say otherwise.
 */
export function presaleConcert(
  t: TestApp,
  times: { queueIn?: number; presaleIn?: number; saleIn?: number } = {},
): ReturnType<typeof createConcert> {
  const at = (ms: number) => new Date(t.clock.now() + ms).toISOString()
  return createConcert(t, {
    queueOpensAt: at(times.queueIn ?? -120_000),
    presaleOpensAt: at(times.presaleIn ?? -60_000),
    saleOpensAt: at(times.saleIn ?? 3_600_000),
  })
}

/** `count` new presale codes of the concert, each for `maxUses` fans (default 1), through the admin API. */
export async function presaleCodes(t: TestApp, concertId: string, count: number, maxUses?: number): Promise<string[]> {
  const res = await t.app.inject({
    method: 'POST',
    url: `/v1/admin/concerts/${concertId}/presale-codes`,
    headers: admin,
    payload: { count, maxUses },
  })
  if (res.statusCode !== 201) throw new Error(`presale codes: ${res.statusCode} ${res.body}`)
  return (res.json() as { codes: string[] }).codes
}

/** Joins the concert's queue as the user of the Bearer header `auth`; the answer as it came. */
export function joinQueue(t: TestApp, concertId: string, auth: HeaderMap): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'POST', url: `/v1/concerts/${concertId}/queue`, headers: auth })
}

/** The queue status of a queue token. */
export function queueStatus(t: TestApp, queueToken: string): Promise<LightMyRequestResponse> {
  return t.app.inject({ url: '/v1/queue/status', headers: { 'queue-token': queueToken } })
}

/** Moves the clock to the next tick window (or on by `ms`) and runs one admission pass, as the loop would. */
export async function admitTick(t: TestApp, ms = t.config.queue.tickMs): Promise<void> {
  t.clock.advance(ms)
  await t.app.components.queue.tick()
}

export interface Fan extends User {
  queueToken: string
  /** Bearer and Queue-Token headers together, for gated routes. */
  headers: HeaderMap
}

/** Signs up `n` users and joins them, one after another, to the concert's queue; no one is admitted. */
export async function queuedFans(t: TestApp, concertId: string, n: number): Promise<Fan[]> {
  const fans: Fan[] = []
  for (let i = 0; i < n; i++) {
    const u = await createUser(t)
    const joined = await joinQueue(t, concertId, u.auth)
    if (joined.statusCode !== 201) throw new Error(`join: ${joined.statusCode} ${joined.body}`)
    const queueToken = (joined.json() as { token: string }).token
    fans.push({ ...u, queueToken, headers: { ...u.auth, 'queue-token': queueToken } })
  }
  return fans
}

/** Signs up `n` users, joins them to the concert's queue and runs one admission tick. */
export async function admittedFans(t: TestApp, concertId: string, n: number): Promise<Fan[]> {
  const fans = await queuedFans(t, concertId, n)
  await admitTick(t)
  return fans
}

/** Asks to hold a seat; `headers` are a fan's Bearer and Queue-Token. */
export function holdSeat(t: TestApp, headers: HeaderMap, scheduleId: string, seatNo: unknown): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'POST', url: '/v1/reservations', headers, payload: { scheduleId, seatNo } })
}

/** The seat map of a schedule, in the default format or the one given. */
export function seatMap(t: TestApp, headers: HeaderMap, scheduleId: string, format?: string): Promise<LightMyRequestResponse> {
  return t.app.inject({ url: `/v1/schedules/${scheduleId}/seats${format ? `?format=${format}` : ''}`, headers })
}

/** Charges `amount` to the balance of the user of `auth`, under an Idempotency-Key if one is given. */
export function chargeBalance(t: TestApp, auth: HeaderMap, amount: unknown, key?: string): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'POST', url: '/v1/me/balance/charges', headers: { ...auth, ...idempotencyKey(key) }, payload: { amount } })
}

/** The balance of the user of `auth`. */
export async function readBalance(t: TestApp, auth: HeaderMap): Promise<number> {
  return json(await t.app.inject({ url: '/v1/me/balance', headers: auth })).balance
}

/** Pays a held reservation from the balance, under an Idempotency-Key if one is given. */
export function pay(t: TestApp, headers: HeaderMap, reservationId: string, key?: string): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'POST', url: '/v1/payments', headers: { ...headers, ...idempotencyKey(key) }, payload: { reservationId } })
}

/** Listens on a free loopback port, for tests that fire real parallel HTTP requests. */
export async function listen(app: App): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address() as { port: number }
  return `http://127.0.0.1:${address.port}`
}

/** One JSON request to a listening server: its status and parsed body (null when empty). */
export async function http(
  base: string,
  method: string,
  path: string,
  options: { headers?: HeaderMap; body?: unknown } = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...options.headers, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

// The same steps over real HTTP, for tests that fire parallel requests at a listening server.

/**
 * Sends a request again, as a client told "retry later" would, while it answers 503: for setup steps
 * of tests that load a small machine hard (a slow statement there is the backend's honest 503). Only
 * for requests that are safe to repeat.
 */
export async function retryingUnavailable<T extends { status: number }>(request: () => Promise<T>, tries = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const res = await request()
    if (res.status !== 503 || attempt >= tries) return res
    await new Promise((r) => setTimeout(r, 200 * attempt))
  }
}

/** `createUser` over HTTP. */
export async function signUpOverHttp(base: string, options: { retryUnavailable?: boolean } = {}): Promise<User> {
  const send = () => http(base, 'POST', '/v1/users')
  const res = options.retryUnavailable ? await retryingUnavailable(send) : await send()
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${JSON.stringify(res.body)}`)
  return { userId: res.body.userId, accessToken: res.body.accessToken, auth: bearer(res.body.accessToken) }
}

/** `joinQueue` over HTTP. */
export function joinQueueOverHttp(base: string, concertId: string, auth: HeaderMap) {
  return http(base, 'POST', `/v1/concerts/${concertId}/queue`, { headers: auth })
}

/** `queueStatus` over HTTP. */
export function queueStatusOverHttp(base: string, queueToken: string) {
  return http(base, 'GET', '/v1/queue/status', { headers: { 'queue-token': queueToken } })
}

/** `holdSeat` over HTTP. */
export function holdSeatOverHttp(base: string, headers: HeaderMap, scheduleId: string, seatNo: number) {
  return http(base, 'POST', '/v1/reservations', { headers, body: { scheduleId, seatNo } })
}

/** `chargeBalance` over HTTP. */
export function chargeBalanceOverHttp(base: string, auth: HeaderMap, amount: number) {
  return http(base, 'POST', '/v1/me/balance/charges', { headers: auth, body: { amount } })
}

/** `pay` over HTTP. */
export function payOverHttp(base: string, headers: HeaderMap, reservationId: string, key?: string) {
  return http(base, 'POST', '/v1/payments', { headers: { ...headers, ...idempotencyKey(key) }, body: { reservationId } })
}
