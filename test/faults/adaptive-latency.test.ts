import { afterAll, describe, expect, it } from 'vitest'
import { ADAPTIVE_WINDOW_MS } from '../../src/queue/adaptive.js'
import {
  admin,
  holdSeatOverHttp,
  http,
  joinQueueOverHttp,
  payOverHttp,
  queueStatusOverHttp,
  retryingUnavailable,
  signUpOverHttp,
  testSecrets,
} from '../support/app.js'
import { type ServerProcess, startServer } from '../support/process.js'
import { type PrivateRedis, startRedisServer } from '../support/redis-server.js'
import { freshPostgresSchema } from '../support/stores.js'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js'

/**
 * Adaptive admission against a real PostgreSQL that slows down and then stalls, with two real
 * processes sharing one line in Redis (docs/queue.md#adaptive-admission). Everything runs on the
 * processes' own clocks, so the bounds below are in real time.
 *
 * Why a latency moves the rate at all: 200 ms a round trip alone adds a fixed time to each hold
 * (one round trip: about 250 ms in all) and payment (two: about 450 ms), well under the target;
 * what takes the p90 over it is queueing. Each process has a pool of two connections, which the
 * holds and payments share with the process's own reads (the admission tick's seat counts and
 * settings, the event relay), every one of them now 200 ms longer: the two processes then carry
 * about 4 fans a second, and the maximum rate of 10 makes a queue for connections that grows by
 * seconds a window. At the rates the controller comes down to, the queue drains; without the
 * delay the pool is idle.
 */
const FANS = 400
const PRICE = 100
const MIN_PER_TICK = 1
const MAX_PER_TICK = 10
const TARGET_MS = 1500
const DELAY_MS = 200
const env = {
  ...testSecrets,
  DEMO_DATA: 'false',
  DATABASE_POOL_SIZE: '2',
  // Room for the queue for connections under the delay, which the controller is to see as
  // latency; a stalled database still answers 503 after it.
  DB_TIMEOUT_MS: '4000',
  QUEUE_STRATEGY: 'rate',
  QUEUE_TICK_MS: '1000',
  QUEUE_ADMIT_PER_TICK: String(MAX_PER_TICK),
  QUEUE_ADAPTIVE: 'true',
  QUEUE_ADAPTIVE_MIN_PER_TICK: String(MIN_PER_TICK),
  QUEUE_ADAPTIVE_MAX_PER_TICK: String(MAX_PER_TICK),
  QUEUE_ADAPTIVE_TARGET_MS: String(TARGET_MS),
}

/** Setup requests in flight at once. */
const IN_FLIGHT = 32
/** Fans whose status the load asks each round: the front of the line, which admission takes in order. */
const WATCHED = 16
const POLL_MS = 200
const REPORT_EVERY_MS = 200
/** Two cold starts and the setup take a minute on two busy cores; the sale itself about one more. */
const TEST_TIMEOUT_MS = 300_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Runs `work` for 0 … n-1, `IN_FLIGHT` at a time. */
async function each(n: number, work: (i: number) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n) await work(next++)
    }),
  )
}

/** Waits until `test` holds, checking every 50 ms, for at most `limitMs`; `what` says what did not happen. */
async function until(what: string, test: () => boolean, limitMs: number) {
  const deadline = Date.now() + limitMs
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`not within ${limitMs} ms: ${what}`)
    await sleep(50)
  }
}

/** The adaptive window a time falls in, as the processes count it. */
const windowOf = (ms: number) => Math.floor(ms / ADAPTIVE_WINDOW_MS)
/** The window a decision was made on: the one that ended half a window or more before it (service.ts `adapt`). */
const decidedWindow = (decidedAt: number) => Math.floor((decidedAt - ADAPTIVE_WINDOW_MS / 2) / ADAPTIVE_WINDOW_MS) - 1

function p90(values: number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.ceil(0.9 * sorted.length) - 1]
}

interface Fan {
  headers: Record<string, string>
  token: string
  seatNo: number
}

interface Sale {
  a: ServerProcess
  b: ServerProcess
  concertId: string
  scheduleId: string
  /** In line order. */
  fans: Fan[]
}

/** One hold or payment as its fan saw it. */
interface Answer {
  kind: 'hold' | 'pay'
  startedAt: number
  endedAt: number
  status: number
  code?: string
}

/** A concert with a seat for every fan, and every fan signed up, credited and in its line, which waits paused. */
async function openSale(a: ServerProcess, b: ServerProcess): Promise<Sale> {
  const on = (i: number) => (i % 2 === 0 ? a : b).url
  const { body: concert } = await http(a.url, 'POST', '/v1/admin/concerts', {
    headers: admin,
    body: { title: 'Slow Database', performer: 'P', venue: 'V' },
  })
  const { body: schedule } = await http(b.url, 'POST', `/v1/admin/concerts/${concert.concertId}/schedules`, {
    headers: admin,
    body: {
      startsAt: new Date(Date.now() + 86_400_000).toISOString(),
      sections: [{ name: 'A', rows: FANS / 100, seatsPerRow: 100, price: PRICE }],
    },
  })
  expect(await setQueue(a, concert.concertId, { paused: true })).toBe(200)
  const joined: (Fan & { position: number })[] = []
  await each(FANS, async (i) => {
    const user = await signUpOverHttp(on(i), { retryUnavailable: true })
    const credit = await retryingUnavailable(() =>
      http(on(i + 1), 'POST', `/v1/admin/users/${user.userId}/balance/charges`, {
        headers: { ...admin, 'idempotency-key': `credit-${i}` },
        body: { amount: PRICE },
      }),
    )
    expect(credit.status).toBe(200)
    const join = await retryingUnavailable(() => joinQueueOverHttp(on(i), concert.concertId, user.auth))
    expect([200, 201]).toContain(join.status)
    const token = join.body.token as string
    // Read once everyone is in: a position answered by a join may be overtaken by one that came at the same time.
    joined[i] = { headers: { ...user.auth, 'queue-token': token }, token, seatNo: i + 1, position: 0 }
  })
  await each(FANS, async (i) => {
    joined[i]!.position = (await queueStatusOverHttp(on(i), joined[i]!.token)).body.position
  })
  const fans = joined.sort((x, y) => x.position - y.position)
  return { a, b, concertId: concert.concertId, scheduleId: schedule.scheduleId, fans }
}

const setQueue = async (server: ServerProcess, concertId: string, patch: Record<string, unknown>) =>
  (await http(server.url, 'PATCH', `/v1/admin/concerts/${concertId}/queue`, { headers: admin, body: patch })).status

/**
 * Fans buying as the line lets them in: the load asks the front of the line where it stands,
 * and each fan admitted holds its seat on one process and pays on the other at once; the payment
 * ends the fan's slot. Every hold and payment is timed as the fan sees it.
 */
class Load {
  readonly answers: Answer[] = []
  admitted = 0
  /** Fans admitted and still choosing their seat (`holdBack`). */
  choosing = 0
  #toHoldBack = 0
  #chosen: Promise<void> = Promise.resolve()
  #choose = () => {}
  #stopped = false
  readonly #buying = new Set<Promise<void>>()
  readonly #watching: Promise<void>

  constructor(private readonly sale: Sale) {
    this.#watching = this.watch()
  }

  async stop() {
    this.#stopped = true
    this.choose()
    await this.#watching
    await Promise.all(this.#buying)
  }

  /** The next `n` fans admitted wait to hold their seat until `choose`: they are still choosing it when something happens. */
  holdBack(n: number) {
    this.#toHoldBack = n
    this.#chosen = new Promise((resolve) => (this.#choose = resolve))
  }

  choose() {
    this.#choose()
  }

  /** The p90 latency of the holds and payments (or of `kinds` only) answered in windows `from` to `to`, and how many there were. */
  window(from: number, to = from, kinds: Answer['kind'][] = ['hold', 'pay']): { p90: number | undefined; count: number } {
    const ms = this.answers
      .filter((x) => kinds.includes(x.kind) && windowOf(x.endedAt) >= from && windowOf(x.endedAt) <= to)
      .map((x) => x.endedAt - x.startedAt)
    return { p90: p90(ms), count: ms.length }
  }

  private async watch() {
    const { fans } = this.sale
    const seen = new Set<number>()
    let front = 0
    while (!this.#stopped && front < fans.length) {
      const next: number[] = []
      for (let i = front; i < fans.length && next.length < WATCHED; i++) if (!seen.has(i)) next.push(i)
      await Promise.all(
        next.map(async (i) => {
          const { body } = await queueStatusOverHttp(this.server(i).url, fans[i]!.token)
          if (body.status !== 'ACTIVE' || seen.has(i)) return
          seen.add(i)
          this.admitted++
          const buying = this.buy(i).finally(() => this.#buying.delete(buying))
          this.#buying.add(buying)
        }),
      )
      while (seen.has(front)) front++
      await sleep(POLL_MS)
    }
  }

  private async buy(i: number) {
    const fan = this.sale.fans[i]!
    if (this.#toHoldBack > 0) {
      this.#toHoldBack--
      this.choosing++
      await this.#chosen
    }
    const held = await this.timed('hold', () => holdSeatOverHttp(this.server(i).url, fan.headers, this.sale.scheduleId, fan.seatNo))
    if (held.status !== 201) return
    await this.timed('pay', () => payOverHttp(this.server(i + 1).url, fan.headers, held.body.reservationId))
  }

  private async timed(kind: Answer['kind'], request: () => Promise<{ status: number; body: any }>) {
    const startedAt = Date.now()
    const res = await request()
    this.answers.push({ kind, startedAt, endedAt: Date.now(), status: res.status, code: res.body?.code })
    return res
  }

  private server(i: number) {
    return i % 2 === 0 ? this.sale.a : this.sale.b
  }
}

/** What one process's queue report says of adaptive admission. */
interface Adaptive {
  admitPerTick: number
  latencyP90Ms: number | null
  errorRate: number | null
  reason: string | null
  decision: string | null
  decidedAt: string | null
}

interface Decision extends Adaptive {
  decidedAt: string
}

/**
 * Reads both processes' queue reports over and over: a, then b, then a again. When a's two reads
 * show the same decision, b's read, between them, must show it too, with the same rate in force
 * (`config.admitPerTick`, and `adaptive` as a whole); anything else is a disagreement.
 */
class Reports {
  /** Every decision seen, in the order made. */
  readonly decisions: Decision[] = []
  /** The rate each process reported last. */
  readonly rates = { a: 0, b: 0 }
  compared = 0
  readonly disagreements: string[] = []
  #stopped = false
  readonly #reading: Promise<void>

  constructor(private readonly sale: Sale) {
    this.#reading = this.read()
  }

  async stop() {
    this.#stopped = true
    await this.#reading
  }

  get last(): Decision | undefined {
    return this.decisions.at(-1)
  }

  /** The first decision seen that matches. */
  find(test: (d: Decision) => boolean): Decision | undefined {
    return this.decisions.find(test)
  }

  private async read() {
    while (!this.#stopped) {
      const first = await this.report(this.sale.a)
      const other = await this.report(this.sale.b)
      const again = await this.report(this.sale.a)
      this.rates.a = again.config.admitPerTick
      this.rates.b = other.config.admitPerTick
      if (first.adaptive.decidedAt === again.adaptive.decidedAt) {
        this.compared++
        const same =
          JSON.stringify(other.adaptive) === JSON.stringify(again.adaptive) && other.config.admitPerTick === again.config.admitPerTick
        if (!same) this.disagreements.push(`a: ${JSON.stringify(again.adaptive)}, b: ${JSON.stringify(other.adaptive)}`)
      }
      await sleep(REPORT_EVERY_MS)
    }
  }

  private async report(server: ServerProcess): Promise<{ config: { admitPerTick: number }; adaptive: Adaptive }> {
    const res = await http(server.url, 'GET', `/v1/admin/concerts/${this.sale.concertId}/queue`, { headers: admin })
    expect(res.status).toBe(200)
    const { adaptive } = res.body as { adaptive: Adaptive }
    const known = this.decisions.some((d) => d.decidedAt === adaptive.decidedAt)
    if (adaptive.decidedAt !== null && !known) {
      this.decisions.push({ ...adaptive, decidedAt: adaptive.decidedAt })
      this.decisions.sort((x, y) => Date.parse(x.decidedAt) - Date.parse(y.decidedAt))
    }
    return res.body
  }
}

describe('adaptive admission against a real PostgreSQL that slows down and stalls, on two processes', () => {
  const servers: ServerProcess[] = []
  let proxy: TcpProxy | undefined
  let redis: PrivateRedis | undefined
  let load: Load | undefined
  let reports: Reports | undefined
  /** What the run saw, phase by phase: printed at the end, also when an expectation failed. */
  const seen: string[] = []
  let started = 0
  const at = (ms: number) => `${((ms - started) / 1000).toFixed(1)} s`
  afterAll(async () => {
    proxy?.resume()
    await load?.stop()
    await reports?.stop()
    for (const s of servers) await s.stop('SIGKILL')
    await proxy?.cut()
    await redis?.stop()
    if (reports && load) seen.push(`rates: ${rates(reports)}`, `fans' p90 by window, ms/answers: ${clientP90(load)}`)
    console.info(`adaptive latency:\n${seen.join('\n')}`)
  })
  const rates = (r: Reports) =>
    r.decisions.map((d) => `${at(Date.parse(d.decidedAt))} ${d.admitPerTick} (${d.reason}, p90 ${d.latencyP90Ms ?? '-'})`).join(', ')
  const clientP90 = (l: Load) => {
    const windows = [...new Set(l.answers.map((x) => windowOf(x.endedAt)))].sort((x, y) => x - y)
    return windows
      .map((w) => `${at(w * ADAPTIVE_WINDOW_MS)} ${l.window(w).p90}/${l.window(w).count} (holds ${l.window(w, w, ['hold']).p90})`)
      .join(', ')
  }

  it(
    'when every round trip takes 200 ms more, then the rate falls within three windows and the p90 of holds and payments is back under the target within 30 s; when the latency goes, then the rate is back at the maximum within a minute; when PostgreSQL stalls and holds answer 503, then the next decision halves the rate; both processes show every decision',
    async () => {
      started = Date.now()
      // PostgreSQL through the proxy, for both processes.
      const databaseUrl = new URL(await freshPostgresSchema())
      proxy = await startTcpProxy(Number(databaseUrl.port || 5432), databaseUrl.hostname)
      databaseUrl.hostname = '127.0.0.1'
      databaseUrl.port = String(proxy.port)
      // A Redis of the test's own: a server process takes the default key prefix, and the other
      // deployments on the machine's shared Redis tick every line listed under it.
      redis = await startRedisServer()
      const processEnv = { ...env, DATABASE_URL: databaseUrl.toString(), REDIS_URL: redis.url }
      const [a, b] = (await Promise.all([startServer(processEnv, 90_000), startServer(processEnv, 90_000)])) as [
        ServerProcess,
        ServerProcess,
      ]
      servers.push(a, b)
      const sale = await openSale(a, b)
      const setUp = Date.now()
      seen.push(`set up: ${at(setUp)}`)

      // The sale opens at the maximum rate, and a decision on real holds and payments keeps it there.
      reports = new Reports(sale)
      load = new Load(sale)
      expect(await setQueue(a, sale.concertId, { paused: false })).toBe(200)
      const onTime = (d: Decision) => Date.parse(d.decidedAt) > setUp
      const atMax = () => reports!.last?.reason === 'at-max' && reports!.last.latencyP90Ms !== null && onTime(reports!.last)
      await until('a decision at the maximum on holds and payments', atMax, 30_000)
      expect(reports.last!.latencyP90Ms).toBeLessThan(TARGET_MS * 0.8)

      // The latency comes at the start of a window, so the first window the controller sees is slow throughout.
      await sleep(ADAPTIVE_WINDOW_MS - (Date.now() % ADAPTIVE_WINDOW_MS) + 20)
      const delayedAt = Date.now()
      const w0 = windowOf(delayedAt)
      proxy.delay(DELAY_MS)
      seen.push(`latency: ${at(delayedAt)}`)
      // A window is decided in the middle of the next one: the third window of the latency (w0 + 2)
      // is decided 7 s after it came; the rate in force follows on every process from their next
      // reading of the store, so both show it within a second of that.
      await until(
        'both processes admitting below the maximum',
        () => reports!.rates.a < MAX_PER_TICK && reports!.rates.b < MAX_PER_TICK,
        20_000,
      )
      const cutSeenAt = Date.now()
      const cut = reports.find((d) => d.admitPerTick < MAX_PER_TICK && Date.parse(d.decidedAt) > delayedAt)!
      const cutWindow = decidedWindow(Date.parse(cut.decidedAt))
      seen.push(
        `below the maximum on both: ${cutSeenAt - delayedAt} ms after; decided ${Date.parse(cut.decidedAt) - delayedAt} ms after, on window w0+${cutWindow - w0}: ${cut.decision}`,
      )
      expect(cut.reason).toBe('over-target')
      expect(cut.latencyP90Ms).toBeGreaterThan(TARGET_MS)
      expect(cutWindow).toBeLessThanOrEqual(w0 + 2)
      expect(cutSeenAt - delayedAt).toBeLessThanOrEqual(3 * ADAPTIVE_WINDOW_MS + ADAPTIVE_WINDOW_MS / 2 + 1000)

      // As the fans see it, holds and payments together (what the target is for): over the target
      // while the queue grew; then, once the cut rate has run a window, back under it over two
      // windows together (at the minimum rate a window has but four).
      const underTarget = (last: number) => {
        const { p90: ms, count } = load!.window(last - 1, last)
        return last - 1 > cutWindow && count >= 4 && ms! < TARGET_MS
      }
      await until("the fans' p90 under the target", () => underTarget(windowOf(Date.now()) - 1), delayedAt + 30_000 - Date.now())
      const underTargetAt = Date.now()
      const slowWindows = Array.from({ length: windowOf(underTargetAt) - w0 }, (_, i) => load!.window(w0 + i).p90 ?? 0)
      expect(Math.max(...slowWindows)).toBeGreaterThan(TARGET_MS)
      const after = reports.decisions.filter((d) => Date.parse(d.decidedAt) > delayedAt)
      seen.push(
        `fans' p90 under the target: ${underTargetAt - delayedAt} ms after (worst window ${Math.max(...slowWindows)} ms); lowest rate ${Math.min(...after.map((d) => d.admitPerTick))}`,
      )

      // The latency goes: the rate grows back to the maximum.
      const undelayedAt = Date.now()
      proxy.delay(0)
      await until(
        'both processes back at the maximum',
        () => reports!.rates.a === MAX_PER_TICK && reports!.rates.b === MAX_PER_TICK,
        60_000,
      )
      seen.push(`latency gone: ${at(undelayedAt)}; back at the maximum ${Date.now() - undelayedAt} ms after`)

      // PostgreSQL stops answering while a few admitted fans are still choosing their seats: their
      // holds wait out the database's timeout and answer 503; the decision on the window of the
      // first 503 halves the rate, while the database is still stalled.
      load.holdBack(4)
      await until('four fans admitted and choosing', () => load!.choosing === 4, 10_000)
      proxy.stall()
      const stalledAt = Date.now()
      load.choose()
      const failed = (x: Answer) => x.endedAt >= stalledAt && x.status === 503
      await until('a hold answering 503', () => load!.answers.some((x) => x.kind === 'hold' && failed(x)), 30_000)
      // The answers are in the order they came: the first failure may be a payment's.
      const first503 = load.answers.find(failed)!
      seen.push(`stall: ${at(stalledAt)}; first 503 ${first503.endedAt - stalledAt} ms after`)
      expect(first503.code).toBe('DEPENDENCY_UNAVAILABLE')
      const onErrors = (d: Decision) => decidedWindow(Date.parse(d.decidedAt)) >= windowOf(first503.startedAt) && (d.errorRate ?? 0) > 0
      await until('a decision on the failures', () => reports!.find(onErrors) !== undefined, 3 * ADAPTIVE_WINDOW_MS + 2000)
      const halved = reports.find(onErrors)!
      seen.push(`decided ${Date.parse(halved.decidedAt) - first503.endedAt} ms after the first 503: ${halved.decision}`)
      const before = reports.decisions[reports.decisions.indexOf(halved) - 1]!
      expect(before.admitPerTick).toBe(MAX_PER_TICK)
      expect(halved).toMatchObject({ reason: 'errors', admitPerTick: MAX_PER_TICK / 2 })
      expect(halved.decision).toMatch(new RegExp(`failed: halved to ${MAX_PER_TICK / 2} a tick$`))
      expect(decidedWindow(Date.parse(halved.decidedAt))).toBeLessThanOrEqual(windowOf(first503.endedAt))
      proxy.resume()

      await load.stop()
      await reports.stop()
      seen.push(
        `${reports.compared} paired reads of both processes, ${reports.disagreements.length} disagreeing; ${load.admitted} fans admitted`,
      )
      expect(reports.disagreements).toEqual([])
      expect(reports.compared).toBeGreaterThan(20)
    },
    TEST_TIMEOUT_MS,
  )
})
