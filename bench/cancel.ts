/**
 * `npm run bench:cancel`: cancelling a sold-out date. A date of CANCEL_SEATS (60,000) seats with
 * every seat paid by its own fan is put straight in a fresh database; the app runs in this process
 * with its background loops, as a server; the operator cancels the date through the API, and the
 * bench follows the progress until the date is CANCELLED. Prints the seconds until every payment
 * was refunded, the refunds per second, the seconds to CANCELLED (which waits CANCEL_SETTLE_MS
 * after the date closed), and checks the books: one REFUND ledger entry per fan, in full, every
 * seat free, every balance equal to its ledger.
 *
 *   CANCEL_STORES=pglite,postgres  CANCEL_SEATS (60000)
 *   BENCH_DATABASE_URL (local test database, fresh schema)
 */
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openDatabase } from '../src/platform/db/database.js'
import { sellSeats } from '../test/support/paid-seats.js'
import { freshSchema, machine, writeSummary } from './lib.js'
import { cancelTable } from './tables.js'

const SEATS = Number(process.env.CANCEL_SEATS ?? 60_000)
const STORES = (process.env.CANCEL_STORES ?? 'pglite,postgres').split(',')
const PRICE = 110_000
const POLL_MS = 100
const DEADLINE_MS = 600_000
const SEED_TIMEOUT_MS = 600_000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const round1 = (n: number) => Math.round(n * 10) / 10

async function measure(store: string) {
  const schema = store === 'postgres' ? await freshSchema() : undefined
  const adminKey = randomBytes(16).toString('hex')
  const config = loadConfig({
    DATA_DIR: 'memory://',
    ...(schema ? { DATABASE_URL: schema.url } : {}),
    AUTH_SECRET: randomBytes(32).toString('base64url'),
    ADMIN_KEY: adminKey,
    DEMO_DATA: 'false',
    LOG_LEVEL: 'warn',
  })
  const app = await buildApp({ config, logger: { level: 'warn' } })
  const headers = { 'x-admin-key': adminKey }
  try {
    const concert = await app.inject({
      method: 'POST',
      url: '/v1/admin/concerts',
      headers,
      payload: { title: 'Rained off', performer: 'P', venue: 'Stadium' },
    })
    const { concertId } = concert.json() as { concertId: string }
    const startsAt = new Date(Date.now() + 30 * 86_400_000)
    const rows = Math.ceil(SEATS / 1000)
    const schedule = await app.inject({
      method: 'POST',
      url: `/v1/admin/concerts/${concertId}/schedules`,
      headers,
      payload: { startsAt: startsAt.toISOString(), sections: [{ name: 'Field', rows, seatsPerRow: SEATS / rows, price: PRICE }] },
    })
    const { scheduleId } = schedule.json() as { scheduleId: string }
    let t = performance.now()
    // On PostgreSQL through a connection of its own, without the requests' statement timeout.
    const seller = schema && openDatabase({ databaseUrl: schema.url, dataDir: 'memory://', poolSize: 1, timeoutMs: SEED_TIMEOUT_MS })
    try {
      const db = seller ? seller.db : app.components.database.db
      await sellSeats(db, { concertId, scheduleId, count: SEATS, price: PRICE, startsAt })
      await sql`analyze`.execute(db)
    } finally {
      await seller?.close()
    }
    console.log(`${store}: ${SEATS} seats sold to ${SEATS} fans, put in the database in ${Math.round(performance.now() - t)} ms`)
    await app.ready()

    const path = `/v1/admin/schedules/${scheduleId}/cancellation`
    t = performance.now()
    const cpuBefore = process.cpuUsage()
    const asked = await app.inject({ method: 'POST', url: path, headers })
    if (asked.statusCode !== 202) throw new Error(`${asked.statusCode} ${asked.body}`)
    let refundedS: number | undefined
    let progress: { status: string; refunded: number; toRefund: number } = { status: 'CANCELLING', refunded: 0, toRefund: SEATS }
    let shownAt = 0
    let refusals = 0
    for (;;) {
      const res = await app.inject({ url: path, headers })
      // While it refunds, the process may refuse a request (503 OVERLOADED on the embedded store,
      // whose work runs on the event loop): counted, and asked again.
      if (res.statusCode !== 200) {
        refusals++
        await sleep(POLL_MS)
        continue
      }
      progress = res.json()
      const elapsedS = (performance.now() - t) / 1000
      if (elapsedS - shownAt >= 5) {
        shownAt = elapsedS
        console.log(`${store}: ${round1(elapsedS)} s: ${progress.status}, ${progress.refunded} of ${progress.toRefund} refunded`)
      }
      if (refundedS === undefined && progress.refunded === progress.toRefund) refundedS = (performance.now() - t) / 1000
      if (progress.status === 'CANCELLED' || performance.now() - t > DEADLINE_MS) break
      await sleep(POLL_MS)
    }
    const cancelledS = (performance.now() - t) / 1000
    const cpu = process.cpuUsage(cpuBefore)
    if (progress.status !== 'CANCELLED') throw new Error(`not cancelled after ${DEADLINE_MS} ms: ${JSON.stringify(progress)}`)

    const { rows: books } = await sql<{ refunds: number; wrong: number; taken: number; unbalanced: number }>`
      select
        (select count(*)::int from balance_ledger where kind = 'REFUND') as refunds,
        (select count(*)::int from wallets w where w.balance <> ${PRICE}::bigint) as wrong,
        (select count(*)::int from seats where schedule_id = ${scheduleId} and status <> 'AVAILABLE') as taken,
        (select count(*)::int from wallets w
          where w.balance <> (select coalesce(sum(amount), 0) from balance_ledger l where l.user_id = w.user_id)) as unbalanced`.execute(
      app.components.database.db,
    )
    const b = books[0]!
    return {
      store,
      seats: SEATS,
      refundedS: round1(refundedS!),
      refundsPerS: Math.round(SEATS / refundedS!),
      cancelledS: round1(cancelledS),
      processCpuS: round1((cpu.user + cpu.system) / 1e6),
      refusals,
      refundEntries: b.refunds,
      wrongBalances: b.wrong,
      seatsNotFree: b.taken,
      unbalanced: b.unbalanced,
    }
  } finally {
    await app.close()
    await schema?.drop()
  }
}

console.log(`stagedoor cancellation — a ${SEATS}-seat date with every seat paid — ${machine()}`)
const results = []
for (const store of STORES) results.push(await measure(store))
const summary = { rows: results }
console.log(cancelTable(summary))
writeSummary('cancel', summary)
