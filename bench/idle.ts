/**
 * `npm run bench:idle`: what many concerts cost when nobody is in line. Puts IDLE_CONCERTS
 * (10,000) concerts with one 20-seat date each straight into a fresh database, starts the app in
 * this process with its background loops (admission, owed ends, housekeeping), lets it idle
 * IDLE_S (10) seconds and prints the process's CPU (process.cpuUsage over wall time, all its
 * threads), Redis commands and Redis CPU per second (INFO deltas); then for 5 s more it sends a
 * /health request every 50 ms and prints the slowest, with the event loop's longest delay over
 * both. Last, one fan joins one of the concerts, and the loop must admit them: the time it took
 * is printed too.
 *
 *   IDLE_STORES=pglite,redis  the embedded database; PostgreSQL with the waiting room on Redis
 *   IDLE_CONCERTS (10000)  IDLE_S (10)
 *   BENCH_DATABASE_URL (local test database, fresh schema)
 *   BENCH_REDIS_URL (default: a private redis-server on a free port, so every command counted is
 *                    this app's; on a shared Redis the count includes everyone's)
 */
import { randomBytes } from 'node:crypto'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { type Db, openDatabase } from '../src/platform/db/database.js'
import { freshSchema, machine, privateRedis, redisCounters, writeSummary } from './lib.js'
import { type IdleRow, idleTable } from './tables.js'

const CONCERTS = Number(process.env.IDLE_CONCERTS ?? 10_000)
const IDLE_S = Number(process.env.IDLE_S ?? 10)
const STORES = (process.env.IDLE_STORES ?? 'pglite,redis').split(',')
const WARM_UP_MS = 2000
const PROBE_MS = 50
const PROBE_S = 5
const ADMISSION_DEADLINE_MS = 10_000
const SEED_TIMEOUT_MS = 300_000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const round1 = (n: number) => Math.round(n * 10) / 10

/** The concerts, each with one date of 20 seats a month from now, in four statements. */
async function seed(db: Db, n: number) {
  const id = sql`lpad(n::text, 6, '0')`
  await sql`insert into concerts (id, title, performer, venue, join_challenge, created_at)
    select 'con_idle_' || ${id}, 'Idle ' || n, 'Performer', 'Venue', 'none', now() from generate_series(1, ${n}::int) n`.execute(db)
  await sql`insert into schedules (id, concert_id, starts_at, total_seats, created_at)
    select 'sch_idle_' || ${id}, 'con_idle_' || ${id}, now() + interval '30 days', 20, now()
    from generate_series(1, ${n}::int) n`.execute(db)
  await sql`insert into schedule_sections (schedule_id, position, name, rows, seats_per_row, first_seat_no, price)
    select 'sch_idle_' || ${id}, 0, 'Floor', 2, 10, 1, 50000 from generate_series(1, ${n}::int) n`.execute(db)
  await sql`insert into seats (schedule_id, seat_no)
    select 'sch_idle_' || ${id}, s from generate_series(1, ${n}::int) n, generate_series(1, 20) s`.execute(db)
  await sql`analyze`.execute(db)
}

async function measure(store: string): Promise<IdleRow> {
  const redisSide =
    store === 'redis' ? (process.env.BENCH_REDIS_URL ? { url: process.env.BENCH_REDIS_URL } : await privateRedis()) : undefined
  const schema = store === 'redis' ? await freshSchema() : undefined
  const config = loadConfig({
    DATA_DIR: 'memory://',
    ...(schema ? { DATABASE_URL: schema.url } : {}),
    ...(redisSide ? { REDIS_URL: redisSide.url } : {}),
    AUTH_SECRET: randomBytes(32).toString('base64url'),
    ADMIN_KEY: randomBytes(16).toString('hex'),
    DEMO_DATA: 'false',
    LOG_LEVEL: 'warn',
  })
  const app = await buildApp({ config, logger: { level: 'warn' }, redisPrefix: `bench:${randomBytes(4).toString('hex')}:` })
  const counter = redisSide && new Redis(redisSide.url)
  try {
    let t = performance.now()
    // On PostgreSQL through a connection of its own, without the requests' statement timeout.
    const seeding = schema && openDatabase({ databaseUrl: schema.url, dataDir: 'memory://', poolSize: 1, timeoutMs: SEED_TIMEOUT_MS })
    try {
      await seed(seeding ? seeding.db : app.components.database.db, CONCERTS)
    } finally {
      await seeding?.close()
    }
    console.log(`${store}: ${CONCERTS} concerts with one 20-seat date each put in the database in ${Math.round(performance.now() - t)} ms`)
    // The loops start here, as in a server.
    await app.ready()
    await sleep(WARM_UP_MS)

    const lag = monitorEventLoopDelay({ resolution: 10 })
    lag.enable()
    const redisBefore = counter && (await redisCounters(counter))
    const cpuBefore = process.cpuUsage()
    const wallBefore = performance.now()
    await sleep(IDLE_S * 1000)
    const cpu = process.cpuUsage(cpuBefore)
    const wallS = (performance.now() - wallBefore) / 1000
    const redisAfter = counter && (await redisCounters(counter))

    // Then requests that touch no database, one every PROBE_MS: how long the loops keep them waiting.
    let healthMaxMs = 0
    for (const until = performance.now() + PROBE_S * 1000; performance.now() < until; ) {
      const started = performance.now()
      await app.inject({ url: '/health' })
      healthMaxMs = Math.max(healthMaxMs, performance.now() - started)
      await sleep(PROBE_MS)
    }
    lag.disable()

    // The loop still serves a line: one fan joins (again while refused), and is admitted without anyone ticking by hand.
    const token = app.components.accessTokens.issue('usr_idle_fan')
    t = performance.now()
    let queueToken: string | undefined
    let admittedAfterMs: number | null = null
    let refusals = 0
    while (admittedAfterMs === null && performance.now() - t < ADMISSION_DEADLINE_MS) {
      const res = queueToken
        ? await app.inject({ url: '/v1/queue/status', headers: { 'queue-token': queueToken } })
        : await app.inject({ method: 'POST', url: '/v1/concerts/con_idle_000001/queue', headers: { authorization: `Bearer ${token}` } })
      if (res.statusCode >= 500) refusals++
      else if (res.statusCode >= 300) throw new Error(`${res.statusCode} ${res.body}`)
      else if (!queueToken) queueToken = (res.json() as { token: string }).token
      else if ((res.json() as { status: string }).status === 'ACTIVE') admittedAfterMs = Math.round(performance.now() - t)
      await sleep(20)
    }

    return {
      store: store === 'redis' ? 'postgres+redis' : 'pglite',
      concerts: CONCERTS,
      idleS: round1(wallS),
      cpuPercent: round1(((cpu.user + cpu.system) / 1e6 / wallS) * 100),
      redisCommandsPerS: redisBefore && redisAfter ? Math.round((redisAfter.commands - redisBefore.commands) / wallS) : null,
      redisCpuPercent: redisBefore && redisAfter ? round1(((redisAfter.cpuS - redisBefore.cpuS) / wallS) * 100) : null,
      healthMaxMs: Math.round(healthMaxMs),
      eventLoopDelayMaxMs: Math.round(lag.max / 1e6),
      admittedAfterMs,
      refusals,
    }
  } finally {
    counter?.disconnect()
    await app.close()
    await schema?.drop()
    if (redisSide && 'stop' in redisSide) await redisSide.stop()
  }
}

console.log(`stagedoor idle — ${CONCERTS} concerts, nobody in line, ${IDLE_S} s — ${machine()}`)
const rows: IdleRow[] = []
for (const store of STORES) rows.push(await measure(store))
console.log(idleTable({ rows }))
if (CONCERTS === 10_000 && IDLE_S >= 10) writeSummary('idle', { rows })
