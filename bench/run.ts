/**
 * `npm run bench`: starts the service itself on each store it can reach, drives it with
 * autocannon from this process, and prints one table with every figure as a ratio to a bare
 * Fastify route measured in the same run, and each hot path also as a ratio to its floor: a route
 * that runs one Lua script on the same Redis (bench/floor-server.ts). A full run's results go to
 * bench/results/latest.json and docs/performance.md.
 *
 *   BENCH_STORES=pglite,postgres,redis   which deployments to measure (default: all reachable)
 *   BENCH_DATABASE_URL, BENCH_REDIS_URL  where PostgreSQL and Redis are (default: localhost)
 *   BENCH_SCENARIOS=join,status,seatmap,sale,events   which scenarios to run (default: all; `events`
 *                    is bench/events.ts: payments with and without the outbox, the relay's rate;
 *                    `npm run bench:events` runs it alone)
 *   BENCH_DURATION (s), BENCH_CONNECTIONS, BENCH_FANS (3000: fans in the sale scenario)
 *   BENCH_PROFILE=1  a CPU profile of each scenario's measured window (through the service's
 *                    inspector), drawn as a flame graph by 0x: bench/profiles/<store>/<scenario>/flamegraph.html
 *   BENCH_NODE_ARGS  extra node flags for the service
 *   BENCH_RATE_LIMITS=off  the service's rate limits off (by default they count, set too high to refuse)
 */
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { systemClock } from '../src/platform/clock.js'
import { openDatabase } from '../src/platform/db/database.js'
import { TokenSigner } from '../src/platform/signer.js'
import { AccessTokens } from '../src/users/access-tokens.js'
import { benchEvents } from './events.js'
import {
  CONNECTIONS,
  call,
  closeClients,
  DATABASE_URL,
  DURATION_S,
  drive,
  driveEach,
  driveFixed,
  forgetQueues,
  freePort,
  freshSchema,
  inParallel,
  machine,
  Profiler,
  type Row,
  startBare,
  startServer,
  type Target,
  writeSummary,
} from './lib.js'
import { scenarioTable } from './tables.js'

const AUTH_SECRET = randomBytes(32).toString('base64url')
const ADMIN_KEY = randomBytes(16).toString('hex')
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

interface Deployment {
  store: string
  env: Record<string, string>
  cleanup?: () => Promise<void>
}

async function deployments(): Promise<Deployment[]> {
  const wanted = (process.env.BENCH_STORES ?? 'pglite,postgres,redis').split(',')
  const out: Deployment[] = []
  if (wanted.includes('pglite')) out.push({ store: 'pglite', env: { DATA_DIR: 'memory://' } })
  for (const store of ['postgres', 'redis'].filter((s) => wanted.includes(s))) {
    try {
      const schema = await freshSchema()
      out.push({
        store: store === 'redis' ? 'postgres+redis' : 'postgres',
        env: { DATABASE_URL: schema.url, ...(store === 'redis' ? { REDIS_URL } : {}) },
        cleanup: schema.drop,
      })
    } catch (err) {
      console.warn(`skipping ${store}: PostgreSQL unreachable (${(err as Error).message})`)
    }
  }
  return out
}

const FANS = Number(process.env.BENCH_FANS ?? 3000)
/** Distinct fans whose tokens the status poll cycles through. */
const POLLERS = 20_000
/** Seats held on the 60,000-seat date before its map is read: a sale under way. */
const STADIUM_HELD = 6000
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? 'join,status,seatmap,sale,events').split(','))
/** The scenarios of the one table (events has its own). */
const TABLE_SCENARIOS = ['join', 'status', 'seatmap', 'sale']
const PROFILE = process.env.BENCH_PROFILE === '1'
const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []

async function benchDeployment(d: Deployment, bearers: string[]): Promise<{ rows: Row[]; checks: Record<string, unknown> }> {
  const inspectPort = PROFILE ? await freePort() : undefined
  const server = await startServer(
    {
      ...d.env,
      AUTH_SECRET,
      ADMIN_KEY,
      DEMO_DATA: 'false',
      LOG_LEVEL: 'warn',
      HOLD_TTL_S: '900',
      QUEUE_ACTIVE_IDLE_S: '1800',
      QUEUE_WAITING_IDLE_S: '1800',
      // The limiters run, as in production, but high enough never to refuse the load generator
      // (BENCH_RATE_LIMITS=off turns them off, to see what they cost).
      ...Object.fromEntries(
        ['RATE_SIGNUP_PER_MIN', 'RATE_JOIN_PER_MIN', 'RATE_HOLD_PER_MIN'].map((k) => [
          k,
          process.env.BENCH_RATE_LIMITS === 'off' ? '0' : '1000000',
        ]),
      ),
      TICKETS_PER_USER: '1000',
      // The stadium's held seats are taken by however many fans BENCH_FANS makes.
      HOLD_MAX_PER_USER: '1000',
    },
    30_000,
    inspectPort ? [...nodeArgs, `--inspect=127.0.0.1:${inspectPort}`] : nodeArgs,
  )
  const url = server.url
  const target: Target = {
    url,
    pid: server.child.pid!,
    profiler: inspectPort ? await Profiler.connect(inspectPort, `bench/profiles/${d.store}`) : undefined,
  }
  const rows: Row[] = []
  const checks: Record<string, unknown> = {}
  const admin = { 'x-admin-key': ADMIN_KEY }
  const concerts: string[] = []
  try {
    // Queue join and status: a paused line, so admissions do not move it while it is measured.
    const { body: a } = await call(url, 'POST', '/v1/admin/concerts', admin, { title: 'Join', performer: 'P', venue: 'V' })
    concerts.push(a.concertId)
    // A concert with nothing left to sell is sold out to joins: the line forms for a date.
    await call(url, 'POST', `/v1/admin/concerts/${a.concertId}/schedules`, admin, {
      startsAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      sections: [{ name: 'A', rows: 5, seatsPerRow: 10, price: 50_000 }],
    })
    await call(url, 'PATCH', `/v1/admin/concerts/${a.concertId}/queue`, admin, { paused: true })
    const rssBefore = await memoryOf(server.child.pid!)
    let i = 0
    if (SCENARIOS.has('join')) {
      rows.push(
        await drive(target, 'queue join', d.store, () => ({
          method: 'POST',
          path: `/v1/concerts/${a.concertId}/queue`,
          headers: { authorization: `Bearer ${bearers[i++ % bearers.length]}` },
        })),
      )
    }
    // Status polls cycle through many fans' tokens spread along the line, not a few hot ones.
    const joined = SCENARIOS.has('status') ? Math.max(POLLERS, Math.min(i, bearers.length)) : Math.min(i, bearers.length)
    let j = 0
    if (SCENARIOS.has('status')) {
      const tokens: string[] = []
      await inParallel(Array.from({ length: POLLERS }), 64, async (_, k) => {
        const bearer = bearers[Math.floor((k * joined) / POLLERS)]!
        const { body } = await call(url, 'POST', `/v1/concerts/${a.concertId}/queue`, { authorization: `Bearer ${bearer}` })
        tokens[k] = body.token
      })
      rows.push(
        await drive(target, 'status poll', d.store, () => ({
          path: '/v1/queue/status',
          headers: { 'queue-token': tokens[j++ % tokens.length]! },
        })),
      )
    }
    const rssAfter = await memoryOf(server.child.pid!)
    checks.waitingUsers = joined
    checks.serverRssMiB = { before: rssBefore, afterJoinsAndPolls: rssAfter }
    if (!SCENARIOS.has('seatmap') && !SCENARIOS.has('sale')) return { rows, checks }

    // The sale: FANS sign up, charge and join (not timed), are admitted at once, read a seat map,
    // then each holds one seat and pays for it.
    const { body: b } = await call(url, 'POST', '/v1/admin/concerts', admin, { title: 'Sale', performer: 'P', venue: 'V' })
    concerts.push(b.concertId)
    const startsAt = new Date(Date.now() + 30 * 86_400_000).toISOString()
    const { body: club } = await call(url, 'POST', `/v1/admin/concerts/${b.concertId}/schedules`, admin, {
      startsAt,
      sections: [{ name: 'A', rows: 5, seatsPerRow: 10, price: 50_000 }],
    })
    const { body: arena } = await call(url, 'POST', `/v1/admin/concerts/${b.concertId}/schedules`, admin, {
      startsAt,
      sections: [{ name: 'Floor', rows: Math.ceil(FANS / 100), seatsPerRow: 100, price: 88_000 }],
    })
    const { body: stadium } = await call(url, 'POST', `/v1/admin/concerts/${b.concertId}/schedules`, admin, {
      startsAt,
      sections: [
        { name: 'Floor', rows: 20, seatsPerRow: 100, price: 198_000 },
        { name: 'Lower', rows: 100, seatsPerRow: 250, price: 154_000 },
        { name: 'Upper', rows: 110, seatsPerRow: 300, price: 121_000 },
      ],
    })
    await call(url, 'PATCH', `/v1/admin/concerts/${b.concertId}/queue`, admin, { paused: true })
    const fans: Record<string, string>[] = []
    await inParallel(Array.from({ length: FANS }), 64, async (_, n) => {
      const { body: user } = await setUp(url, 'POST', '/v1/users')
      const auth = { authorization: `Bearer ${user.accessToken}` }
      await setUp(url, 'POST', '/v1/me/balance/charges', auth, { amount: 100_000 })
      const { body: entry } = await setUp(url, 'POST', `/v1/concerts/${b.concertId}/queue`, auth)
      fans[n] = { ...auth, 'queue-token': entry.token }
    })
    await call(url, 'PATCH', `/v1/admin/concerts/${b.concertId}/queue`, admin, {
      paused: false,
      strategy: 'rate',
      admitPerTick: 100_000,
      tickMs: 100,
    })
    for (let attempt = 0; ; attempt++) {
      const { body } = await call(url, 'GET', `/v1/admin/concerts/${b.concertId}/queue`, admin)
      if (body.active >= FANS) break
      if (attempt > 600) throw new Error(`admission stalled: ${JSON.stringify(body)}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    let m = 0
    if (SCENARIOS.has('seatmap')) {
      rows.push(
        await drive(target, 'gated seat map (50 seats, cached)', d.store, () => ({
          path: `/v1/schedules/${club.scheduleId}/seats`,
          headers: fans[m++ % fans.length]!,
        })),
      )
      // A sale under way on the stadium: every tenth seat held (not timed), then its compact map
      // read as a client that takes no compression, and as a browser (br).
      await inParallel(Array.from({ length: STADIUM_HELD }), 64, async (_, n) => {
        const res = await call(url, 'POST', '/v1/reservations', fans[n % fans.length]!, {
          scheduleId: stadium.scheduleId,
          seatNo: n * 10 + 1,
        })
        if (res.status !== 201) throw new Error(`stadium hold: ${res.status} ${JSON.stringify(res.body)}`)
      })
      for (const [label, encoding] of [
        ['uncompressed', {}],
        ['br', { 'accept-encoding': 'gzip, deflate, br' }],
      ] as const) {
        rows.push(
          await drive(
            target,
            `gated seat map (60,000 seats, ${STADIUM_HELD.toLocaleString('en')} held, compact, ${label})`,
            d.store,
            () => ({
              path: `/v1/schedules/${stadium.scheduleId}/seats`,
              headers: { ...fans[m++ % fans.length]!, ...encoding },
            }),
          ),
        )
      }
    }
    if (!SCENARIOS.has('sale')) return { rows, checks }
    const reservations: string[] = []
    const saleStarted = performance.now()
    rows.push(
      await driveEach(target, 'hold', d.store, fans, 64, async (headers, n) => {
        const res = await call(url, 'POST', '/v1/reservations', headers, { scheduleId: arena.scheduleId, seatNo: n + 1 })
        reservations[n] = res.body?.reservationId
        return res.status === 201
      }),
    )
    rows.push(
      await driveEach(target, 'payment', d.store, fans, 64, async (headers, n) => {
        const res = await call(
          url,
          'POST',
          '/v1/payments',
          { ...headers, 'idempotency-key': `pay-${n}` },
          {
            reservationId: reservations[n],
          },
        )
        return res.status === 201
      }),
    )
    checks.saleSeconds = Number(((performance.now() - saleStarted) / 1000).toFixed(1))
    checks.sale = { fans: FANS, ...(await saleChecks(d.env)) }
    console.log(`  ${d.store}: ${joined} waiting users; server RSS ${rssBefore} MiB → ${rssAfter} MiB; sale ${JSON.stringify(checks.sale)}`)
  } finally {
    target.profiler?.close()
    await server.stop()
    await d.cleanup?.()
    if (d.env.REDIS_URL) await forgetQueues(d.env.REDIS_URL, concerts)
  }
  return { rows, checks }
}

/**
 * A call of the sale's setup (not timed): a 503, which a loaded shared machine may give, is retried
 * after a pause, as a client would; any other failure stops the run.
 */
async function setUp(...args: Parameters<typeof call>): ReturnType<typeof call> {
  for (let attempt = 1; ; attempt++) {
    const res = await call(...args)
    if (res.status < 300) return res
    if (res.status !== 503 || attempt >= 10) throw new Error(`${args[1]} ${args[2]}: ${res.status} ${JSON.stringify(res.body)}`)
    await new Promise((r) => setTimeout(r, 200 * attempt))
  }
}

/** Oversold seats and money, read straight from the database the service used. */
async function saleChecks(env: Record<string, string>): Promise<Record<string, unknown>> {
  if (!env.DATABASE_URL) return { oversold: 'embedded database: checked by the test suite' }
  const { db, close } = openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: 'memory://' })
  try {
    const { rows } = await sql<{ oversold: number; payments: number; unbalanced: number }>`
      select
        (select count(*)::int from (select schedule_id, seat_no from reservations where status = 'CONFIRMED'
           group by schedule_id, seat_no having count(*) > 1) x) as oversold,
        (select count(*)::int from payments) as payments,
        (select count(*)::int from users u
           where coalesce((select balance from wallets w where w.user_id = u.id), 0)
             <> (select coalesce(sum(amount), 0) from balance_ledger l where l.user_id = u.id)) as unbalanced`.execute(db)
    return rows[0]!
  } finally {
    await close()
  }
}

async function memoryOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises')
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return Math.round(kb / 1024)
}

/** The database floor's row (bench/db-floor-server.ts), or none when PostgreSQL is not measured or not reachable. */
async function databaseFloor(bearers: string[]): Promise<Row | undefined> {
  const wanted = (process.env.BENCH_STORES ?? 'pglite,postgres,redis').split(',')
  if (!wanted.includes('postgres') && !wanted.includes('redis')) return undefined
  const server = await startBare('db-floor-server.ts', [DATABASE_URL])
  if (!(await fetch(`${server.url}/health`).catch(() => undefined))?.ok) {
    console.warn('no database floor: its server did not start (is PostgreSQL reachable?)')
    try {
      process.kill(server.pid)
    } catch {}
    return undefined
  }
  let f = 0
  try {
    return await drive(server, 'floor: one SQL function, payment-shaped POST', 'postgres', () => ({
      method: 'POST',
      path: '/floor/pay',
      headers: { authorization: `Bearer ${bearers[f++ % bearers.length]}` },
    }))
  } finally {
    await server.stop()
  }
}

async function main() {
  console.log(`stagedoor bench — ${machine()}`)
  const signer = new AccessTokens(new TokenSigner(AUTH_SECRET, systemClock))
  const bearers = Array.from({ length: 150_000 }, (_, n) => signer.issue(`usr_bench_${n}`))

  // The ceiling is measured before and after the service, and averaged: shared machines drift. It is
  // driven like every scenario: autocannon builds each request in a callback, with a token-sized
  // header, so the load generator's own cost per request is the same in every row. The same route
  // with one fixed request shows that cost.
  const bare = await startBare()
  let k = 0
  const bareRoute = () =>
    drive(bare, 'bare Fastify route (ceiling)', '—', () => ({
      path: '/health',
      headers: { authorization: `Bearer ${bearers[k++ % bearers.length]}` },
    }))
  const before = await bareRoute()
  const fixed = await driveFixed(bare, 'bare Fastify route, one fixed request', '/health')
  // The floors: one auto-pipelined Lua script per request on the same Redis, no auth, no validation.
  const floorServer = await startBare('floor-server.ts', [REDIS_URL])
  let f = 0
  const writeFloor = await drive(floorServer, 'floor: one Lua script, join-shaped POST', 'redis', () => ({
    method: 'POST',
    path: '/floor/join',
    headers: { authorization: `Bearer ${bearers[f++ % bearers.length]}` },
  }))
  const readFloor = await drive(floorServer, 'floor: one Lua script, poll-shaped GET', 'redis', () => ({
    path: '/floor/poll',
    headers: { authorization: `Bearer ${bearers[f++ % bearers.length]}` },
  }))
  await floorServer.stop()
  // The database floor: one SQL function shaped like a payment per request, on the same PostgreSQL.
  const dbFloor = await databaseFloor(bearers)
  const measured: Row[] = []
  const checks: Record<string, unknown> = {}
  for (const d of await deployments()) {
    console.log(`measuring ${d.store}…`)
    const result = await benchDeployment(d, bearers)
    measured.push(...result.rows)
    checks[d.store] = result.checks
  }
  const after = await bareRoute()
  await bare.stop()
  console.log(`ceiling before ${before.rps} req/s, after ${after.rps} req/s`)
  const ceiling: Row = {
    ...before,
    rps: Math.round((before.rps + after.rps) / 2),
    cpuUs: Math.round(((before.cpuUs ?? 0) + (after.cpuUs ?? 0)) / 2),
    p50: Math.max(before.p50, after.p50),
    p99: Math.max(before.p99, after.p99),
    errors: before.errors + after.errors,
  }
  // Joins compare with the write floor; polls and gated reads with the read floor; holds and
  // payments on PostgreSQL with the database floor.
  const floorOf = (r: Row) =>
    r.scenario === 'queue join'
      ? writeFloor
      : ['status poll', 'gated seat map (50 seats, cached)'].includes(r.scenario)
        ? readFloor
        : ['hold', 'payment'].includes(r.scenario) && r.store.startsWith('postgres')
          ? dbFloor
          : undefined
  const rows: Row[] = [
    { ...ceiling, ratio: 1 },
    ...[fixed, writeFloor, readFloor, ...(dbFloor ? [dbFloor] : []), ...measured].map((r) => {
      const floor = floorOf(r)
      return { ...r, ratio: r.rps / ceiling.rps, ...(floor ? { floorRatio: r.rps / floor.rps } : {}) }
    }),
  ]
  console.log(`\n${scenarioTable(rows)}\n`)
  const redisJoin = rows.find((r) => r.scenario === 'queue join' && r.store === 'postgres+redis')
  const dbJoin = rows.find((r) => r.scenario === 'queue join' && r.store === 'postgres')
  if (redisJoin && dbJoin) console.log(`Redis store joins ÷ database store joins: ${(redisJoin.rps / dbJoin.rps).toFixed(1)}×`)
  // Only a full run is the latest table; a partial or profiled run is printed, not kept.
  if (TABLE_SCENARIOS.every((s) => SCENARIOS.has(s)) && !PROFILE && !process.env.BENCH_STORES)
    writeSummary('latest', { durationS: DURATION_S, connections: CONNECTIONS, checks, rows })
  await closeClients()
  if (SCENARIOS.has('events')) await benchEvents()
}

await main()
