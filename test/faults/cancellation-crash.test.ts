import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/platform/db/database.js'
import { admin, http, testSecrets } from '../support/app.js'
import { sellSeats } from '../support/paid-seats.js'
import { type ServerProcess, startServer } from '../support/process.js'
import { freshPostgresSchema } from '../support/stores.js'

const SEATS = 5000
const PRICE = 70_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('when the process cancelling a date is killed halfway', () => {
  const servers: ServerProcess[] = []
  afterAll(async () => {
    for (const s of servers) await s.stop('SIGKILL')
  })

  it('then another process finishes it: every payment refunded once, counted from the ledger, every seat free, the date CANCELLED', async () => {
    const databaseUrl = await freshPostgresSchema()
    const env = { DATABASE_URL: databaseUrl, ...testSecrets, DEMO_DATA: 'false' }
    const first = await startServer(env)
    servers.push(first)

    const concert = await http(first.url, 'POST', '/v1/admin/concerts', {
      headers: admin,
      body: { title: 'Rained off', performer: 'P', venue: 'V' },
    })
    const { concertId } = concert.body
    const startsAt = new Date(Date.now() + 7 * 86_400_000)
    const schedule = await http(first.url, 'POST', `/v1/admin/concerts/${concertId}/schedules`, {
      headers: admin,
      body: { startsAt: startsAt.toISOString(), sections: [{ name: 'Floor', rows: 50, seatsPerRow: SEATS / 50, price: PRICE }] },
    })
    const { scheduleId } = schedule.body
    const seller = openDatabase({ databaseUrl, dataDir: 'memory://', poolSize: 1, timeoutMs: 60_000 })
    await sellSeats(seller.db, { concertId, scheduleId, count: SEATS, price: PRICE, startsAt }).finally(() => seller.close())

    const path = `/v1/admin/schedules/${scheduleId}/cancellation`
    const started = await http(first.url, 'POST', path, { headers: admin })
    expect(started.status).toBe(202)
    expect(started.body).toMatchObject({ status: 'CANCELLING', toRefund: SEATS })

    // Killed once its first batches have committed, in the middle of the work.
    for (;;) {
      const progress = await http(first.url, 'GET', path, { headers: admin })
      if (progress.body.refunded > 0) break
      await sleep(20)
    }
    await first.stop('SIGKILL')
    const db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    try {
      const count = async (query: string) => Number((await db.query(query, [scheduleId])).rows[0].n)
      const refundedAtKill = await count(`select count(*) as n from refunds where schedule_id = $1`)
      expect(refundedAtKill).toBeGreaterThan(0)
      expect(refundedAtKill).toBeLessThan(SEATS)

      // A second process takes the work over once the first one's lease runs out.
      const second = await startServer(env)
      servers.push(second)
      const deadline = Date.now() + 60_000
      let done: { status: number; body: { status: string; refunded: number; toRefund: number } }
      for (;;) {
        done = await http(second.url, 'GET', path, { headers: admin })
        if (done.body.status === 'CANCELLED' || Date.now() > deadline) break
        await sleep(200)
      }
      expect(done.body).toEqual({ scheduleId, status: 'CANCELLED', refunded: SEATS, toRefund: SEATS })
      console.log(`cancellation crash: ${refundedAtKill}/${SEATS} refunded when the first process was killed; the second finished the rest`)

      // Every payment refunded exactly once, in full, as the ledger counts it.
      const perUser = await db.query(
        `select count(*) filter (where kind = 'REFUND') as refunds, sum(amount) filter (where kind = 'REFUND') as back,
                max(w.balance) as balance
         from balance_ledger l join wallets w using (user_id)
         where user_id like 'usr_sold_' || $1 || '_%' group by user_id`,
        [scheduleId],
      )
      expect(perUser.rows).toHaveLength(SEATS)
      expect(perUser.rows.filter((r) => Number(r.refunds) !== 1 || Number(r.back) !== PRICE || Number(r.balance) !== PRICE)).toEqual([])
      expect(await count(`select count(*) as n from seats where schedule_id = $1 and status <> 'AVAILABLE'`)).toBe(0)
      expect(await count(`select count(*) as n from reservations where schedule_id = $1 and status <> 'REFUNDED'`)).toBe(0)
      expect(await count(`select count(*) as n from schedule_cancellations where schedule_id = $1`)).toBe(0)
      const mismatched = await db.query(
        `select count(*) as n from wallets w where w.balance <> (select coalesce(sum(amount), 0) from balance_ledger l where l.user_id = w.user_id)`,
      )
      expect(Number(mismatched.rows[0].n)).toBe(0)
    } finally {
      await db.end()
    }
  }, 120_000)
})
