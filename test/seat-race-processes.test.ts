import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DatabaseHandle, openDatabase } from '../src/platform/db/database.js'
import { newId } from '../src/platform/ids.js'
import { http } from './support/app.js'
import { barrier } from './support/barrier.js'
import { type ServerProcess, startServer } from './support/process.js'
import { freshPostgresSchema } from './support/stores.js'

const ADMIN_KEY = 'seat-race-admin-key-0123'
const admin = { 'x-admin-key': ADMIN_KEY }

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
    const env = { DATABASE_URL: databaseUrl, AUTH_SECRET: 'seat-race-secret-0123456789abcdefghij', ADMIN_KEY, DEMO_DATA: 'false' }
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
    const { body: schedule } = await http(b!, 'POST', `/v1/admin/concerts/${concert.concertId}/schedules`, {
      headers: admin,
      body: { startsAt: new Date(Date.now() + 86_400_000).toISOString(), sections: [{ name: 'A', rows: 5, seatsPerRow: 10, price: 1000 }] },
    })
    await http(a!, 'PATCH', `/v1/admin/concerts/${concert.concertId}/queue`, {
      headers: admin,
      body: { strategy: 'rate', admitPerTick: 10_000, tickMs: 100 },
    })
    const joined = await Promise.all(
      Array.from({ length: fans }, async (_, i) => {
        const url = servers[i % 2]!.url
        const { body: user } = await http(url, 'POST', '/v1/users')
        const auth = { authorization: `Bearer ${user.accessToken}` }
        const { body: entry } = await http(url, 'POST', `/v1/concerts/${concert.concertId}/queue`, { headers: auth })
        return { userId: user.userId as string, headers: { ...auth, 'queue-token': entry.token as string } }
      }),
    )
    // Wait for the admission loops to let everyone in.
    for (let attempt = 0; attempt < 100; attempt++) {
      const statuses = await Promise.all(joined.map((f) => http(a!, 'GET', '/v1/queue/status', { headers: f.headers })))
      if (statuses.every((s) => s.body.status === 'ACTIVE')) break
      await new Promise((r) => setTimeout(r, 100))
    }
    return { concertId: concert.concertId as string, scheduleId: schedule.scheduleId as string, fans: joined }
  }

  it('when 60 admitted fans on two processes race for one seat, then exactly one holds it', async () => {
    const { scheduleId, fans } = await setUp(60)
    const results = await Promise.all(
      fans.map((f, i) => http(servers[i % 2]!.url, 'POST', '/v1/reservations', { headers: f.headers, body: { scheduleId, seatNo: 1 } })),
    )
    expect(results.filter((r) => r.status === 201)).toHaveLength(1)
    expect(results.filter((r) => r.status === 409)).toHaveLength(59)
    expect(await liveClaims(handles[0]!.db, scheduleId, 1)).toBe(1)
  })

  it('negative control: read-then-write holds from two connection pools let several fans hold the seat', async () => {
    const { concertId, scheduleId, fans } = await setUp(20)
    const together = barrier(fans.length)
    const brokenHold = async (db: DatabaseHandle['db'], userId: string) => {
      const seat = await db
        .selectFrom('seats')
        .select('status')
        .where('schedule_id', '=', scheduleId)
        .where('seat_no', '=', 1)
        .executeTakeFirstOrThrow()
      await together()
      if (seat.status !== 'AVAILABLE') return
      const id = newId('rsv')
      const until = new Date(Date.now() + 60_000)
      await db
        .updateTable('seats')
        .set({ status: 'HELD', reservation_id: id, held_until: until })
        .where('schedule_id', '=', scheduleId)
        .where('seat_no', '=', 1)
        .execute()
      await db
        .insertInto('reservations')
        .values({
          id,
          user_id: userId,
          concert_id: concertId,
          schedule_id: scheduleId,
          seat_no: 1,
          price: 1000,
          status: 'HELD',
          held_until: until,
          queue_token_id: null,
          created_at: new Date(),
          updated_at: new Date(),
        })
        .execute()
    }
    await Promise.all(fans.map((f, i) => brokenHold(handles[i % 2]!.db, f.userId)))
    expect(await liveClaims(handles[0]!.db, scheduleId, 1)).toBeGreaterThan(1)
  })
})
