import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import {
  admin,
  chargeBalanceOverHttp,
  holdSeatOverHttp,
  http,
  joinQueueOverHttp,
  payOverHttp,
  queueStatusOverHttp,
  signUpOverHttp,
  testSecrets,
} from '../support/app.js'
import { type ServerProcess, startServer } from '../support/process.js'
import { type PrivateRedis, startRedisServer } from '../support/redis-server.js'
import { freshPostgresSchema } from '../support/stores.js'

const FANS = 20
const PRICE = 30_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Asks until `done` says the answer is final, for at most `limitMs`. */
async function retry<T>(ask: () => Promise<T>, done: (answer: T) => boolean, limitMs = 20_000): Promise<T> {
  const started = Date.now()
  for (;;) {
    const answer = await ask().catch(() => undefined)
    if (answer !== undefined && done(answer)) return answer
    if (Date.now() - started > limitMs) throw new Error(`no final answer within ${limitMs} ms: ${JSON.stringify(answer)}`)
    await sleep(100)
  }
}

describe('when a process is killed in the middle of payments', () => {
  let redis: PrivateRedis
  const servers: ServerProcess[] = []
  afterAll(async () => {
    for (const s of servers) await s.stop('SIGKILL')
    await redis?.stop()
  })

  it('then another process finishes every payment exactly once, balances equal their ledgers and every paid token ends', async () => {
    redis = await startRedisServer({ aof: true })
    const databaseUrl = await freshPostgresSchema()
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      ...testSecrets,
      DEMO_DATA: 'false',
      DB_TIMEOUT_MS: '500',
      REDIS_TIMEOUT_MS: '250',
      QUEUE_TICK_MS: '100',
    }
    const first = await startServer(env)
    servers.push(first)
    const base = first.url

    const concert = await http(base, 'POST', '/v1/admin/concerts', { headers: admin, body: { title: 'Crash', performer: 'P', venue: 'V' } })
    const { concertId } = concert.body
    const schedule = await http(base, 'POST', `/v1/admin/concerts/${concertId}/schedules`, {
      headers: admin,
      body: {
        startsAt: new Date(Date.now() + 86_400_000).toISOString(),
        sections: [{ name: 'A', rows: 3, seatsPerRow: 10, price: PRICE }],
      },
    })
    const { scheduleId } = schedule.body
    const fans = await Promise.all(
      Array.from({ length: FANS }, async (_, i) => {
        const user = await signUpOverHttp(base)
        const joined = await joinQueueOverHttp(base, concertId, user.auth)
        const token = joined.body.token as string
        await retry(
          () => queueStatusOverHttp(base, token),
          (s) => s.body.status === 'ACTIVE',
        )
        const headers = { ...user.auth, 'queue-token': token }
        await chargeBalanceOverHttp(base, user.auth, 100_000)
        const held = await holdSeatOverHttp(base, headers, scheduleId, i + 1)
        expect(held.status).toBe(201)
        return { ...user, token, headers, reservationId: held.body.reservationId as string }
      }),
    )

    // Every fan pays at once; the process is killed once a quarter of the answers are back, so
    // some payments are answered, some committed but unanswered, and some not yet begun.
    let answered = 0
    let quarterBack: () => void = () => {}
    const quarter = new Promise<void>((resolve) => (quarterBack = resolve))
    const inFlight = fans.map((f, i) =>
      payOverHttp(base, f.headers, f.reservationId, `pay-${i}`)
        .catch(() => undefined)
        .finally(() => ++answered >= FANS / 4 && quarterBack()),
    )
    await quarter
    await first.stop('SIGKILL')
    const before = await Promise.all(inFlight)
    const answeredBefore = before.filter((a) => a?.status === 201).length

    // A new process takes over; every fan retries with the same key until the answer is final.
    const killedAt = Date.now()
    const second = await startServer(env)
    servers.push(second)
    const after = await Promise.all(
      fans.map((f, i) =>
        retry(
          () => payOverHttp(second.url, f.headers, f.reservationId, `pay-${i}`),
          (a) => a.status !== 409 || a.body.code !== 'IDEMPOTENCY_IN_PROGRESS',
        ),
      ),
    )
    const settledMs = Date.now() - killedAt
    for (const [i, a] of after.entries()) {
      expect(a.status, JSON.stringify(a.body)).toBe(201)
      // A payment answered before the crash is replayed as it was.
      if (before[i]?.status === 201) expect(a.body.paymentId).toBe(before[i]!.body.paymentId)
    }

    // Every paid token ends: at once, or by the queue's loop for those the dead process owed.
    const endedMs = await (async () => {
      const started = Date.now()
      await Promise.all(
        fans.map((f) =>
          retry(
            () => queueStatusOverHttp(second.url, f.token),
            (s) => s.body.status === 'EXPIRED',
          ),
        ),
      )
      return Date.now() - started
    })()

    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      const sold = await client.query(`select count(*)::int as n from seats where schedule_id = $1 and status = 'SOLD'`, [scheduleId])
      expect(sold.rows[0].n).toBe(FANS)
      const payments = await client.query('select reservation_id, count(*)::int as n from payments group by reservation_id')
      expect(payments.rows).toHaveLength(FANS)
      for (const row of payments.rows) expect(row.n).toBe(1)
      const money = await client.query(`
        select w.user_id, w.balance, coalesce(sum(l.amount), 0)::bigint as ledger
        from wallets w left join balance_ledger l on l.user_id = w.user_id group by w.user_id, w.balance`)
      expect(money.rows).toHaveLength(FANS)
      for (const row of money.rows) {
        expect(Number(row.balance)).toBe(100_000 - PRICE)
        expect(Number(row.ledger)).toBe(Number(row.balance))
      }
      // The loop ends a token in the store, then strikes its owed end: a status may read EXPIRED
      // between the two steps, so the last strikes are waited for.
      const owed = await retry(
        () => client.query('select count(*)::int as n from queue_owed_ends'),
        (r) => r.rows[0].n === 0,
        5000,
      )
      expect(owed.rows[0].n).toBe(0)
    } finally {
      await client.end()
    }
    console.info(
      `crash mid-payments: ${answeredBefore}/${FANS} answered before the kill; all final ${settledMs} ms after it; paid tokens ended within ${endedMs} ms more`,
    )
  })
})
