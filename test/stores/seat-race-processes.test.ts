import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DatabaseHandle, openDatabase } from '../../src/platform/db/database.js'
import { admin, holdSeatOverHttp, http, joinQueueOverHttp, queueStatusOverHttp, signUpOverHttp, testSecrets } from '../support/app.js'
import { barrier } from '../support/barrier.js'
import { readThenWriteHold } from '../support/negative-controls.js'
import { type ServerProcess, startServer } from '../support/process.js'
import { freshPostgresSchema } from '../support/stores.js'

const liveClaims = async (db: DatabaseHandle['db'], scheduleId: string, seatNo: number) => {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from reservations where schedule_id = ${scheduleId} and seat_no = ${seatNo}
      and (status = 'CONFIRMED' or (status = 'HELD' and held_until > now()))`.execute(db)
  return rows[0]!.n
}

describe('the seat race from two app processes on one PostgreSQL', () => {
  let servers: ServerProcess[] = []
  let databaseUrl: string
  const handles: DatabaseHandle[] = []

  beforeAll(async () => {
    databaseUrl = await freshPostgresSchema()
    const env = { ...testSecrets, DATABASE_URL: databaseUrl, DEMO_DATA: 'false' }
    servers = [await startServer(env)]
    servers.push(await startServer(env))
    handles.push(openDatabase({ databaseUrl, dataDir: 'memory://' }), openDatabase({ databaseUrl, dataDir: 'memory://' }))
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
    for (const h of handles) await h.close()
  })

  const setUp = async (fans: number) => {
    const [a, b] = servers.map((s) => s.url)
    const { body: concert } = await http(a!, 'POST', '/v1/admin/concerts', {
      headers: admin,
      body: { title: 'T', performer: 'P', venue: 'V' },
    })
    // A seat for each fan: no more fans are admitted at once than seats left to sell.
    const { body: schedule } = await http(b!, 'POST', `/v1/admin/concerts/${concert.concertId}/schedules`, {
      headers: admin,
      body: {
        startsAt: new Date(Date.now() + 86_400_000).toISOString(),
        sections: [{ name: 'A', rows: 10, seatsPerRow: 10, price: 1000 }],
      },
    })
    await http(a!, 'PATCH', `/v1/admin/concerts/${concert.concertId}/queue`, {
      headers: admin,
      body: { strategy: 'rate', admitPerTick: 10_000, tickMs: 100 },
    })
    const joined = await Promise.all(
      Array.from({ length: fans }, async (_, i) => {
        const url = servers[i % 2]!.url
        const user = await signUpOverHttp(url)
        const { body: entry } = await joinQueueOverHttp(url, concert.concertId, user.auth)
        return { userId: user.userId, queueToken: entry.token as string, headers: { ...user.auth, 'queue-token': entry.token as string } }
      }),
    )
    // Wait for the admission loops to let everyone in.
    for (let attempt = 0; attempt < 100; attempt++) {
      const statuses = await Promise.all(joined.map((f) => queueStatusOverHttp(a!, f.queueToken)))
      if (statuses.every((s) => s.body.status === 'ACTIVE')) break
      await new Promise((r) => setTimeout(r, 100))
    }
    return { concertId: concert.concertId as string, scheduleId: schedule.scheduleId as string, fans: joined }
  }

  it('when 60 admitted fans on two processes race for one seat, then exactly one holds it', async () => {
    const { scheduleId, fans } = await setUp(60)
    const results = await Promise.all(fans.map((f, i) => holdSeatOverHttp(servers[i % 2]!.url, f.headers, scheduleId, 1)))
    expect(results.filter((r) => r.status === 201)).toHaveLength(1)
    expect(results.filter((r) => r.status === 409)).toHaveLength(59)
    expect(await liveClaims(handles[0]!.db, scheduleId, 1)).toBe(1)
  })

  it('negative control: read-then-write holds from two connection pools let several fans hold the seat', async () => {
    const { concertId, scheduleId, fans } = await setUp(20)
    const together = barrier(fans.length)
    const now = new Date()
    const heldUntil = new Date(now.getTime() + 60_000)
    const brokenHold = (db: DatabaseHandle['db'], userId: string) =>
      readThenWriteHold(db, together, { concertId, scheduleId, seatNo: 1, userId, price: 1000, now, heldUntil })
    await Promise.all(fans.map((f, i) => brokenHold(handles[i % 2]!.db, f.userId)))
    expect(await liveClaims(handles[0]!.db, scheduleId, 1)).toBeGreaterThan(1)
  })
})
