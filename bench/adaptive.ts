/**
 * `npm run bench:adaptive`: adaptive admission against fixed rates, on a database slowed to a known
 * capacity. The service reaches PostgreSQL through a TCP proxy that adds ADAPTIVE_DELAY_MS to every
 * round trip, with a pool of ADAPTIVE_POOL connections, so holds and payments a second are bounded
 * by the database and not by the machine's CPU. The run first measures that capacity (a closed loop
 * of fans holding and paying, every fan admitted at once), then sells one concert of ADAPTIVE_SEATS
 * seats to ADAPTIVE_FANS fans per variant: fixed rates at one half, one and two times the capacity,
 * and adaptive admission with bounds that know nothing of it. Each variant is a fresh concert: every
 * fan joins the paused line, the sale opens, each fan polls at the `pollAfterMs` it is told and,
 * once admitted, holds its seat and pays, each on its own (no client-side cap on what is in flight).
 * A fan whose hold or payment fails (5xx, or no answer) tries again a second later.
 *
 * Prints, per variant: time to sell out, hold p50/p90/p99 and payment p99 as the fans saw them,
 * errors (5xx and connection failures) apart from the product's refusals (409, 429), and admitted
 * fans a second; for adaptive, the rates it chose.
 *
 *   ADAPTIVE_FANS (20000)  ADAPTIVE_SEATS (as many as the fans): the fans in front, as many as the seats, buy
 *   ADAPTIVE_DELAY_MS (20): added to every round trip to PostgreSQL
 *   ADAPTIVE_POOL (8): DATABASE_POOL_SIZE of the service process
 *   ADAPTIVE_TARGET_MS (1000): adaptive admission's target p90 of holds and payments
 *   ADAPTIVE_MAX_PER_TICK (2000): adaptive admission's maximum (its minimum is 1)
 *   ADAPTIVE_START_PER_TICK (100, the deployment's default QUEUE_ADMIT_PER_TICK): the rate adaptive admission starts from
 *   ADAPTIVE_CALIBRATION_S (15)  ADAPTIVE_CALIBRATION_IN_FLIGHT (64): the capacity's measurement
 *   ADAPTIVE_VARIANTS (half,one,two,adaptive)  ADAPTIVE_LIMIT_S (400): a variant not sold out by then stops
 *   BENCH_DATABASE_URL (local test database, fresh schema)  BENCH_REDIS_URL (local Redis)
 */
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { systemClock } from '../src/platform/clock.js'
import { TokenSigner } from '../src/platform/signer.js'
import { AccessTokens } from '../src/users/access-tokens.js'
import {
  call,
  closeClients,
  forgetQueues,
  freshSchema,
  inParallel,
  machine,
  percentile,
  startServer,
  useConnections,
  writeSummary,
} from './lib.js'
import { type AdaptiveVariant, adaptiveTable } from './tables.js'

const FANS = Number(process.env.ADAPTIVE_FANS ?? 20_000)
const SEATS = Math.min(FANS, Number(process.env.ADAPTIVE_SEATS ?? FANS))
const DELAY_MS = Number(process.env.ADAPTIVE_DELAY_MS ?? 20)
const POOL = Number(process.env.ADAPTIVE_POOL ?? 8)
const TARGET_MS = Number(process.env.ADAPTIVE_TARGET_MS ?? 1000)
const MAX_PER_TICK = Number(process.env.ADAPTIVE_MAX_PER_TICK ?? 2000)
const CALIBRATION_S = Number(process.env.ADAPTIVE_CALIBRATION_S ?? 15)
const CALIBRATION_IN_FLIGHT = Number(process.env.ADAPTIVE_CALIBRATION_IN_FLIGHT ?? 64)
const VARIANTS = (process.env.ADAPTIVE_VARIANTS ?? 'half,one,two,adaptive').split(',').map((v) => v.trim())
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const ADMIN_KEY = randomBytes(16).toString('hex')
const AUTH_SECRET = randomBytes(32).toString('base64url')
/** The service's Redis keys: the lines of a sale that is over are deleted, so the admission loop no longer ticks them. */
const REDIS_PREFIX = `sd:bench-adaptive-${randomBytes(4).toString('hex')}:`
const START_PER_TICK = Number(process.env.ADAPTIVE_START_PER_TICK ?? 100)
const PRICE = 1000
/** How long a fan waits before trying a failed hold or payment again. */
const RETRY_MS = 1000
/** A variant that has not sold out by then is stopped and reported as not sold out. */
const VARIANT_LIMIT_MS = Number(process.env.ADAPTIVE_LIMIT_S ?? 400) * 1000
const FACTORS: Record<string, number> = { half: 0.5, one: 1, two: 2 }

const admin = { 'x-admin-key': ADMIN_KEY }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const round = (x: number, digits = 1) => Number(x.toFixed(digits))
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)

/** A call whose failure to connect counts as an answer (status 0), so every request is accounted for. */
const attempt = (url: string, method: string, path: string, headers: Record<string, string>, body?: unknown) =>
  call(url, method, path, headers, body).catch((err: Error) => ({ status: 0, body: { code: err.message } }))

/** Setup's requests: tried again while the service is busy (5xx, 429, no answer); anything else refused is a fault. */
async function retried(request: () => Promise<{ status: number; body: any }>) {
  for (;;) {
    const res = await request()
    if (res.status === 200 || res.status === 201) return res
    if (!isError(res.status) && res.status !== 429) throw new Error(`setup refused: ${res.status} ${JSON.stringify(res.body)}`)
    await sleep(RETRY_MS)
  }
}

interface User {
  auth: Record<string, string>
}

/** What one variant's fans saw. */
interface Tally {
  holdMs: number[]
  payMs: number[]
  /** 5xx and connection failures, by what failed. */
  errors: Map<string, number>
  /** The product's refusals (409, 429 and the like), by what was refused. */
  refusals: Map<string, number>
}

const count = (map: Map<string, number>, what: string) => map.set(what, (map.get(what) ?? 0) + 1)
const total = (map: Map<string, number>) => [...map.values()].reduce((a, b) => a + b, 0)
const isError = (status: number) => status === 0 || status >= 500

interface Sale {
  concertId: string
  scheduleId: string
}

/** A concert of `seats` seats whose line waits paused, with the queue settings `queue`. */
async function openSale(url: string, title: string, seats: number, queue: Record<string, unknown>): Promise<Sale> {
  const { body: concert } = await call(url, 'POST', '/v1/admin/concerts', admin, { title, performer: 'P', venue: 'V' })
  const { body: schedule } = await call(url, 'POST', `/v1/admin/concerts/${concert.concertId}/schedules`, admin, {
    startsAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    sections: [{ name: 'A', rows: Math.ceil(seats / 100), seatsPerRow: Math.min(seats, 100), price: PRICE }],
  })
  const patched = await call(url, 'PATCH', `/v1/admin/concerts/${concert.concertId}/queue`, admin, { paused: true, ...queue })
  if (patched.status !== 200) throw new Error(`queue settings refused: ${JSON.stringify(patched.body)}`)
  return { concertId: concert.concertId, scheduleId: schedule.scheduleId }
}

/** Every fan of `users` in the sale's line, which waits paused; their queue tokens, in the users' order. */
async function joinAll(url: string, sale: Sale, users: User[]): Promise<{ token: string; pollAfterMs: number }[]> {
  const joined: { token: string; pollAfterMs: number }[] = []
  await inParallel(users, 128, async (user, i) => {
    for (;;) {
      const res = await attempt(url, 'POST', `/v1/concerts/${sale.concertId}/queue`, user.auth)
      if (res.status === 201 || res.status === 200) {
        joined[i] = { token: res.body.token, pollAfterMs: res.body.pollAfterMs ?? 0 }
        return
      }
      if (!isError(res.status) && res.status !== 429) throw new Error(`join ${res.status} ${JSON.stringify(res.body)}`)
      await sleep(RETRY_MS)
    }
  })
  return joined
}

/** Holds seat `seatNo` and pays for it, trying a failed step again after RETRY_MS; whether it was paid. */
async function buy(url: string, sale: Sale, headers: Record<string, string>, seatNo: number, key: string, tally: Tally) {
  let reservationId: string | undefined
  for (let tries = 0; reservationId === undefined; tries++) {
    const at = performance.now()
    const res = await attempt(url, 'POST', '/v1/reservations', headers, { scheduleId: sale.scheduleId, seatNo })
    tally.holdMs.push(performance.now() - at)
    if (res.status === 201) reservationId = res.body.reservationId
    else if (isError(res.status)) count(tally.errors, `hold ${res.status} ${res.body?.code ?? ''}`.trim())
    else {
      count(tally.refusals, `hold ${res.status} ${res.body?.code ?? ''}`.trim())
      if (res.status !== 429 || tries > 60) return false
    }
    if (reservationId === undefined) await sleep(RETRY_MS)
  }
  for (let tries = 0; ; tries++) {
    const at = performance.now()
    const res = await attempt(url, 'POST', '/v1/payments', { ...headers, 'idempotency-key': key }, { reservationId })
    tally.payMs.push(performance.now() - at)
    if (res.status === 201) return true
    if (isError(res.status)) count(tally.errors, `pay ${res.status} ${res.body?.code ?? ''}`.trim())
    else {
      count(tally.refusals, `pay ${res.status} ${res.body?.code ?? ''}`.trim())
      // A payment still running under the same key answers 409 until it finishes: ask again.
      if (res.status !== 409 || tries > 60) return false
    }
    await sleep(RETRY_MS)
  }
}

/**
 * The database's capacity for holds and payments: CALIBRATION_IN_FLIGHT fans, every one already
 * admitted, hold and pay back to back for CALIBRATION_S seconds; purchases a second over the time
 * after the first second.
 */
async function measureCapacity(
  url: string,
  users: User[],
  slow: () => Promise<void>,
): Promise<{ purchasesPerS: number; holdP50Ms: number; payP50Ms: number }> {
  // Enough fans for 500 purchases a second; a faster database only ends the loop early.
  const fans = users.slice(0, Math.min(SEATS, 500 * CALIBRATION_S))
  const sale = await openSale(url, 'Capacity', fans.length, { strategy: 'rate', admitPerTick: 100_000, tickMs: 200 })
  const tokens = (await joinAll(url, sale, fans)).map((j) => j.token)
  await slow()
  await call(url, 'PATCH', `/v1/admin/concerts/${sale.concertId}/queue`, admin, { paused: false })
  for (;;) {
    const { body } = await call(url, 'GET', `/v1/admin/concerts/${sale.concertId}/queue`, admin)
    if (body.active >= fans.length) break
    await sleep(200)
  }
  const tally: Tally = { holdMs: [], payMs: [], errors: new Map(), refusals: new Map() }
  const paidAt: number[] = []
  const started = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: CALIBRATION_IN_FLIGHT }, async () => {
      while (performance.now() - started < CALIBRATION_S * 1000 && next < fans.length) {
        const i = next++
        const headers = { ...fans[i]!.auth, 'queue-token': tokens[i]! }
        if (await buy(url, sale, headers, i + 1, `capacity-${i}`, tally)) paidAt.push(performance.now() - started)
      }
    }),
  )
  if (REDIS_URL) await forgetQueues(REDIS_URL, [sale.concertId], REDIS_PREFIX)
  const counted = paidAt.filter((t) => t >= 1000)
  const spanS = (Math.max(...counted) - 1000) / 1000
  if (total(tally.errors) > 0) console.log(`  capacity: errors ${JSON.stringify(Object.fromEntries(tally.errors))}`)
  return {
    purchasesPerS: Math.round(counted.length / spanS),
    holdP50Ms: round(percentile(sorted(tally.holdMs), 50)),
    payP50Ms: round(percentile(sorted(tally.payMs), 50)),
  }
}

interface VariantResult extends AdaptiveVariant {
  errorKinds: Record<string, number>
  refusalKinds: Record<string, number>
  /** Adaptive only: the rates decided over the sale. */
  rates?: { atS: number; admitPerTick: number; reason: string | null; latencyP90Ms: number | null }[]
}

/** One sale to sell-out: every fan in line, the line opened, each fan polling, holding and paying. */
async function runVariant(
  url: string,
  users: User[],
  variant: string,
  capacity: number,
  slow: () => Promise<void>,
): Promise<VariantResult> {
  const adaptive = variant === 'adaptive'
  const admitPerS = adaptive ? null : Math.max(1, Math.round(FACTORS[variant]! * capacity))
  const queue = adaptive
    ? {
        strategy: 'rate',
        tickMs: 1000,
        admitPerTick: START_PER_TICK,
        adaptive: { enabled: true, minAdmitPerTick: 1, maxAdmitPerTick: MAX_PER_TICK, targetLatencyMs: TARGET_MS },
      }
    : { strategy: 'rate', tickMs: 1000, admitPerTick: admitPerS, adaptive: { enabled: false } }
  const sale = await openSale(url, `Sale ${variant}`, SEATS, queue)
  const fans = users.slice(0, FANS)
  // The buyers first, so they are the front of the line; everyone else behind them.
  const joined = [...(await joinAll(url, sale, fans.slice(0, SEATS))), ...(await joinAll(url, sale, fans.slice(SEATS)))]
  const tokens = joined.map((j) => j.token)
  const tally: Tally = { holdMs: [], payMs: [], errors: new Map(), refusals: new Map() }
  const rates: NonNullable<VariantResult['rates']> = []
  let paid = 0
  let settled = 0
  let lastPaidAt = 0
  const admittedAt: number[] = []
  let done!: () => void
  const allSettled = new Promise<void>((resolve) => {
    done = resolve
  })
  const settle = () => {
    if (++settled === fans.length || paid === SEATS) done()
  }

  await slow()
  const started = performance.now()
  const elapsed = () => performance.now() - started
  let over = false
  const fan = async (i: number) => {
    const headers = { ...fans[i]!.auth, 'queue-token': tokens[i]! }
    // A fan asks next when its last answer said, which for those who joined a while ago falls
    // anywhere in that span after the opening.
    await sleep(Math.random() * joined[i]!.pollAfterMs)
    for (;;) {
      if (over) return
      const res = await attempt(url, 'GET', '/v1/queue/status', { 'queue-token': tokens[i]! })
      if (isError(res.status)) {
        count(tally.errors, `poll ${res.status} ${res.body?.code ?? ''}`.trim())
        await sleep(RETRY_MS)
        continue
      }
      if (res.status !== 200) {
        count(tally.refusals, `poll ${res.status} ${res.body?.code ?? ''}`.trim())
        return settle()
      }
      if (res.body.status === 'ACTIVE') break
      if (res.body.status !== 'WAITING') {
        // SOLD_OUT (more fans than seats) or EXPIRED: this fan buys nothing.
        count(tally.refusals, `poll ${res.body.status}`)
        return settle()
      }
      await sleep(res.body.pollAfterMs)
    }
    admittedAt.push(elapsed())
    if (await buy(url, sale, headers, i + 1, `${variant}-${i}`, tally)) {
      paid++
      lastPaidAt = elapsed()
    }
    settle()
  }
  await call(url, 'PATCH', `/v1/admin/concerts/${sale.concertId}/queue`, admin, { paused: false })
  for (let i = 0; i < fans.length; i++) void fan(i)
  // The operators' view every second: for adaptive, the rate it decided and why.
  const sampler = setInterval(async () => {
    const res = await attempt(url, 'GET', `/v1/admin/concerts/${sale.concertId}/queue`, admin)
    if (res.status !== 200 || !adaptive) return
    const a = res.body.adaptive
    const last = rates.at(-1)
    if (!last || last.admitPerTick !== a.admitPerTick || a.reason !== last.reason) {
      rates.push({ atS: round(elapsed() / 1000), admitPerTick: a.admitPerTick, reason: a.reason, latencyP90Ms: a.latencyP90Ms })
    }
  }, 1000)
  const progress = setInterval(() => {
    console.log(`  ${variant}: ${round(elapsed() / 1000, 0)} s, admitted ${admittedAt.length}, paid ${paid}, errors ${total(tally.errors)}`)
  }, 10_000)
  let limit: NodeJS.Timeout | undefined
  await Promise.race([allSettled, new Promise((resolve) => (limit = setTimeout(resolve, VARIANT_LIMIT_MS)))])
  clearTimeout(limit)
  over = true
  clearInterval(sampler)
  clearInterval(progress)
  if (REDIS_URL) await forgetQueues(REDIS_URL, [sale.concertId], REDIS_PREFIX)
  const soldOut = paid >= SEATS
  const holds = sorted(tally.holdMs)
  const pays = sorted(tally.payMs)
  const lastAdmitted = Math.max(...admittedAt)
  const result: VariantResult = {
    variant,
    admitPerS,
    soldOutS: soldOut ? round(lastPaidAt / 1000) : null,
    sold: paid,
    admittedPerS: Math.round(admittedAt.length / (lastAdmitted / 1000)),
    holdP50Ms: round(percentile(holds, 50)),
    holdP90Ms: round(percentile(holds, 90)),
    holdP99Ms: round(percentile(holds, 99)),
    payP99Ms: round(percentile(pays, 99)),
    errors: total(tally.errors),
    refusals: total(tally.refusals),
    errorKinds: Object.fromEntries(tally.errors),
    refusalKinds: Object.fromEntries(tally.refusals),
  }
  if (adaptive) {
    const half = (lastPaidAt || elapsed()) / 2000
    const late = rates.filter((r) => r.atS >= half)
    result.rates = rates
    result.meanRateSecondHalf = late.length > 0 ? Math.round(late.reduce((a, r) => a + r.admitPerTick, 0) / late.length) : undefined
  }
  // Fans still at it (a variant stopped at its limit) are left to the server's shutdown.
  return result
}

/** The delaying proxy to PostgreSQL, in its own process (bench/delay-proxy.ts). */
async function startProxy(host: string, port: number) {
  const child = fork(new URL('./delay-proxy.ts', import.meta.url).pathname, [host, String(port)], { execArgv: ['--import', 'tsx'] })
  const next = () => new Promise<{ port?: number }>((resolve) => child.once('message', resolve))
  const { port: proxyPort } = await next()
  return {
    port: proxyPort!,
    /** Resolves once the proxy applies it. */
    async delay(delayMs: number) {
      const applied = next()
      child.send({ delayMs })
      await applied
    },
    stop: () => child.disconnect(),
  }
}

async function main() {
  console.log(
    `stagedoor adaptive — ${FANS} fans, ${SEATS} seats, PostgreSQL +${DELAY_MS} ms a round trip, pool ${POOL}, target ${TARGET_MS} ms — ${machine()}`,
  )
  const schema = await freshSchema()
  const database = new URL(schema.url)
  const proxy = await startProxy(database.hostname, Number(database.port || 5432))
  database.hostname = '127.0.0.1'
  database.port = String(proxy.port)
  const server = await startServer(
    {
      DATABASE_URL: database.toString(),
      DATABASE_POOL_SIZE: String(POOL),
      ...(REDIS_URL ? { REDIS_URL, REDIS_PREFIX } : {}),
      AUTH_SECRET,
      ADMIN_KEY,
      DEMO_DATA: 'false',
      LOG_LEVEL: 'warn',
      HOLD_TTL_S: '3600',
      QUEUE_ACTIVE_IDLE_S: '3600',
      QUEUE_ACTIVE_MAX_S: '7200',
      QUEUE_WAITING_IDLE_S: '3600',
      // Limits per client address and user, set out of the way of one load generator.
      RATE_SIGNUP_PER_MIN: '0',
      RATE_JOIN_PER_MIN: '0',
      RATE_HOLD_PER_MIN: '0',
    },
    60_000,
  )
  const url = server.url
  useConnections(url, 2048)
  try {
    // Setup, not timed and not slowed. The fans who will buy (as many as there are seats: the front
    // of each line) sign up and take credit for every sale; the others behind them in line only
    // need a signed-in identity to wait, poll and be told the sale is over.
    const users: User[] = []
    let t = performance.now()
    await inParallel(Array.from({ length: SEATS }), 64, async (_, i) => {
      const { body: user } = await retried(() => attempt(url, 'POST', '/v1/users', {}))
      const auth = { authorization: `Bearer ${user.accessToken}` }
      await retried(() =>
        attempt(
          url,
          'POST',
          '/v1/me/balance/charges',
          { ...auth, 'idempotency-key': `credit-${i}` },
          { amount: PRICE * (VARIANTS.length + 1) },
        ),
      )
      users[i] = { auth }
    })
    const signer = new AccessTokens(new TokenSigner(AUTH_SECRET, systemClock))
    for (let i = SEATS; i < FANS; i++) users.push({ auth: { authorization: `Bearer ${signer.issue(`usr_adaptive_${i}`)}` } })
    console.log(
      `setup: ${SEATS} buyers signed up and charged in ${round((performance.now() - t) / 1000)} s; ${FANS - SEATS} more fans to wait behind them`,
    )

    // Joins fill the line at full speed, as in the setup; holds and payments run slowed.
    const slow = () => proxy.delay(DELAY_MS)
    t = performance.now()
    const capacity = await measureCapacity(url, users, slow)
    console.log(
      `capacity: ${capacity.purchasesPerS} purchases/s (hold p50 ${capacity.holdP50Ms} ms, payment p50 ${capacity.payP50Ms} ms, ${CALIBRATION_IN_FLIGHT} in flight), measured in ${round((performance.now() - t) / 1000)} s`,
    )
    const variants: VariantResult[] = []
    for (const variant of VARIANTS) {
      if (variant !== 'adaptive' && !(variant in FACTORS)) throw new Error(`unknown variant ${variant}`)
      await proxy.delay(0)
      const result = await runVariant(url, users, variant, capacity.purchasesPerS, slow)
      variants.push(result)
      console.log(`${variant}: ${JSON.stringify(result)}`)
      await sleep(2000)
    }
    const fixed = variants.filter((v) => v.variant !== 'adaptive' && v.soldOutS !== null)
    const best = fixed.length > 0 ? Math.min(...fixed.map((v) => v.soldOutS!)) : null
    const adaptive = variants.find((v) => v.variant === 'adaptive')
    const summary = {
      fans: FANS,
      seats: SEATS,
      delayMs: DELAY_MS,
      poolSize: POOL,
      targetMs: TARGET_MS,
      minPerTick: 1,
      maxPerTick: MAX_PER_TICK,
      startPerTick: START_PER_TICK,
      capacity,
      calibrationS: CALIBRATION_S,
      calibrationInFlight: CALIBRATION_IN_FLIGHT,
      variants,
      bestFixedS: best,
      adaptiveToBestFixed: adaptive?.soldOutS && best ? round(adaptive.soldOutS / best, 2) : null,
    }
    writeSummary('adaptive', summary)
    console.log(`\n${adaptiveTable(summary)}\n`)
  } finally {
    await closeClients()
    await server.stop()
    proxy.stop()
    await schema.drop()
  }
}

await main()
