/**
 * `npm run bench:sellout`: a 60,000-seat stadium sold out end to end. Every fan signs up, charges
 * a balance, joins the queue and is admitted (admission unthrottled); then the timed sale: each
 * fan holds one seat and pays for it. Prints wall time, purchases per second, p50/p99 of hold
 * and payment, and the checks: oversold seats (must be 0) and balances reconciled with the
 * ledger.
 *
 *   SELLOUT_SEATS (60000)  SELLOUT_CONCURRENCY (64)  SELLOUT_PROCESSES (2: one per core)
 *   BENCH_DATABASE_URL (local test database, fresh schema)
 *   BENCH_REDIS_URL (local Redis; empty: the waiting room in PostgreSQL too)
 */
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { openDatabase } from '../src/platform/db/database.js'
import { call, closeClients, freshSchema, inParallel, machine, percentile, startServer, writeSummary } from './lib.js'
import { selloutTable } from './tables.js'

const SEATS = Number(process.env.SELLOUT_SEATS ?? 60_000)
const CONCURRENCY = Number(process.env.SELLOUT_CONCURRENCY ?? 64)
const PROCESSES = Number(process.env.SELLOUT_PROCESSES ?? 2)
// The production shape: PostgreSQL with the waiting room on Redis. BENCH_REDIS_URL= (empty) puts
// the waiting room in PostgreSQL too.
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const ADMIN_KEY = randomBytes(16).toString('hex')
const PRICE = { Floor: 198_000, Lower: 154_000, Upper: 121_000 }

async function main() {
  console.log(`stagedoor sellout — ${SEATS} seats, ${CONCURRENCY} concurrent fans, ${PROCESSES} process(es) — ${machine()}`)
  const schema = await freshSchema()
  const env: Record<string, string> = {
    DATABASE_URL: schema.url,
    AUTH_SECRET: randomBytes(32).toString('base64url'),
    ADMIN_KEY,
    DEMO_DATA: 'false',
    LOG_LEVEL: 'warn',
    HOLD_TTL_S: '600',
    QUEUE_ACTIVE_IDLE_S: '3600',
    QUEUE_ACTIVE_MAX_S: '7200',
    QUEUE_WAITING_IDLE_S: '3600',
    ...(REDIS_URL ? { REDIS_URL } : {}),
  }
  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=prof", profiles the service processes.
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []
  const servers = [await startServer(env, 30_000, nodeArgs)]
  for (let i = 1; i < PROCESSES; i++) servers.push(await startServer(env, 30_000, nodeArgs))
  const urls = servers.map((s) => s.url)
  const url = (i: number) => urls[i % urls.length]!
  try {
    const admin = { 'x-admin-key': ADMIN_KEY }
    const { body: concert } = await call(url(0), 'POST', '/v1/admin/concerts', admin, {
      title: 'Sellout',
      performer: 'NOVA',
      venue: 'Stadium',
    })
    const sections =
      SEATS === 60_000
        ? [
            { name: 'Floor', rows: 20, seatsPerRow: 100, price: PRICE.Floor },
            { name: 'Lower', rows: 100, seatsPerRow: 250, price: PRICE.Lower },
            { name: 'Upper', rows: 110, seatsPerRow: 300, price: PRICE.Upper },
          ]
        : [{ name: 'Floor', rows: Math.ceil(SEATS / 100), seatsPerRow: 100, price: PRICE.Floor }]
    let t = performance.now()
    const { body: schedule } = await call(url(0), 'POST', `/v1/admin/concerts/${concert.concertId}/schedules`, admin, {
      startsAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      sections,
    })
    console.log(`schedule of ${schedule.totalSeats} seats created by one request in ${Math.round(performance.now() - t)} ms`)
    // Unthrottled: every joined fan is admitted on the next tick.
    await call(url(0), 'PATCH', `/v1/admin/concerts/${concert.concertId}/queue`, admin, {
      strategy: 'rate',
      admitPerTick: 100_000,
      tickMs: 200,
    })

    const fans: { auth: Record<string, string>; headers: Record<string, string>; userId: string }[] = []
    t = performance.now()
    await inParallel(Array.from({ length: schedule.totalSeats as number }), CONCURRENCY, async (_, i) => {
      const { body: user } = await call(url(i), 'POST', '/v1/users')
      const auth = { authorization: `Bearer ${user.accessToken}` }
      await call(url(i), 'POST', '/v1/me/balance/charges', auth, { amount: 200_000 })
      const { body: entry } = await call(url(i), 'POST', `/v1/concerts/${concert.concertId}/queue`, auth)
      fans[i] = { auth, userId: user.userId, headers: { ...auth, 'queue-token': entry.token } }
    })
    console.log(`setup (not timed): ${fans.length} fans signed up, charged and queued in ${((performance.now() - t) / 1000).toFixed(1)} s`)
    for (let attempt = 0; ; attempt++) {
      const { body } = await call(url(0), 'GET', `/v1/admin/concerts/${concert.concertId}/queue`, admin)
      if (body.active >= fans.length) break
      if (attempt > 600) throw new Error(`admission stalled: ${JSON.stringify(body)}`)
      await new Promise((r) => setTimeout(r, 100))
    }

    // The sale: fans in random order, each holding a distinct seat and paying for it.
    const order = fans.map((_, i) => i).sort(() => Math.random() - 0.5)
    const holdMs: number[] = []
    const payMs: number[] = []
    const failures = new Map<string, number>()
    const fail = (what: string) => failures.set(what, (failures.get(what) ?? 0) + 1)
    const saleStart = performance.now()
    await inParallel(order, CONCURRENCY, async (fanIndex, i) => {
      const fan = fans[fanIndex]!
      let s = performance.now()
      const held = await call(url(i), 'POST', '/v1/reservations', fan.headers, { scheduleId: schedule.scheduleId, seatNo: fanIndex + 1 })
      holdMs.push(performance.now() - s)
      if (held.status !== 201) {
        fail(`hold ${held.status} ${held.body?.code}`)
        return
      }
      s = performance.now()
      const paid = await call(
        url(i),
        'POST',
        '/v1/payments',
        { ...fan.headers, 'idempotency-key': `pay-${fanIndex}` },
        {
          reservationId: held.body.reservationId,
        },
      )
      payMs.push(performance.now() - s)
      if (paid.status !== 201) fail(`pay ${paid.status} ${paid.body?.code}`)
    })
    const wallS = (performance.now() - saleStart) / 1000

    const { db, close } = openDatabase({ databaseUrl: schema.url, dataDir: 'memory://' })
    const { rows } = await sql<{ sold: number; oversold: number; payments: number; confirmed: number; unbalanced: number; money: boolean }>`
      select
        (select count(*)::int from seats where schedule_id = ${schedule.scheduleId} and status = 'SOLD') as sold,
        (select count(*)::int from (select seat_no from reservations where schedule_id = ${schedule.scheduleId}
           and status = 'CONFIRMED' group by seat_no having count(*) > 1) x) as oversold,
        (select count(*)::int from payments) as payments,
        (select count(*)::int from reservations where status = 'CONFIRMED') as confirmed,
        (select count(*)::int from users u where u.balance <> (select coalesce(sum(amount), 0) from balance_ledger l where l.user_id = u.id)) as unbalanced,
        (select sum(balance) + (select sum(amount) from payments) = (select sum(amount) from balance_ledger where kind = 'CHARGE') from users) as money`.execute(
      db,
    )
    await close()
    const r = rows[0]!
    holdMs.sort((a, b) => a - b)
    payMs.sort((a, b) => a - b)
    const purchases = r.payments
    const summary = {
      seats: schedule.totalSeats,
      processes: PROCESSES,
      concurrency: CONCURRENCY,
      queueStore: env.REDIS_URL ? 'redis' : 'postgres',
      wallSeconds: Number(wallS.toFixed(1)),
      purchasesPerSecond: Math.round(purchases / wallS),
      holdP50Ms: Number(percentile(holdMs, 50).toFixed(1)),
      holdP99Ms: Number(percentile(holdMs, 99).toFixed(1)),
      payP50Ms: Number(percentile(payMs, 50).toFixed(1)),
      payP99Ms: Number(percentile(payMs, 99).toFixed(1)),
      sold: r.sold,
      payments: purchases,
      confirmed: r.confirmed,
      oversold: r.oversold,
      balancesEqualLedger: r.unbalanced === 0,
      chargesEqualBalancesPlusPayments: r.money,
      failures: Object.fromEntries(failures),
    }
    console.log(JSON.stringify(summary, null, 2))
    writeSummary('sellout', summary)
    console.log(`\n${selloutTable(summary)}\n`)
    if (r.oversold !== 0 || r.unbalanced !== 0 || !r.money) process.exitCode = 1
  } finally {
    await closeClients()
    await Promise.all(servers.map((s) => s.stop()))
    await schema.drop()
  }
}

await main()
