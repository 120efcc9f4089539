import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { admin, http, joinQueueOverHttp, queueStatusOverHttp, signUpOverHttp, testSecrets } from '../support/app.js'
import { type ServerProcess, startServer } from '../support/process.js'
import { freshPostgresSchema, REDIS_URL } from '../support/stores.js'

const env = { ...testSecrets, DEMO_DATA: 'false' }

interface Fan {
  auth: Record<string, string>
  token: string
  position: number
}

describe.each([
  { name: 'database store', redis: false },
  { name: 'Redis store', redis: true },
])('admission across three processes ($name)', ({ redis }) => {
  let servers: ServerProcess[] = []
  const any = (i: number) => servers[i % servers.length]!.url

  beforeAll(async () => {
    const DATABASE_URL = await freshPostgresSchema()
    const first = await startServer({ ...env, DATABASE_URL, ...(redis ? { REDIS_URL } : {}) })
    // The others start on a migrated database, as a rolling deployment would.
    const rest = await Promise.all([1, 2].map(() => startServer({ ...env, DATABASE_URL, ...(redis ? { REDIS_URL } : {}) })))
    servers = [first, ...rest]
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
  })

  /** A concert whose queue is paused while `count` fans join through all three processes. */
  const pausedQueueWithFans = async (settings: Record<string, unknown>, count: number) => {
    const { body } = await http(any(0), 'POST', '/v1/admin/concerts', { headers: admin, body: { title: 'T', performer: 'P', venue: 'V' } })
    const concertId = body.concertId as string
    // Admission waits while nothing is left to hold: the concert has a date with seats for everyone.
    const schedule = await http(any(0), 'POST', `/v1/admin/concerts/${concertId}/schedules`, {
      headers: admin,
      body: {
        startsAt: new Date(Date.now() + 86_400_000).toISOString(),
        sections: [{ name: 'A', rows: 10, seatsPerRow: 10, price: 1000 }],
      },
    })
    expect(schedule.status).toBe(201)
    // Set on one process, obeyed by the others within a tick: fans join once every process says so.
    const adminQueue = `/v1/admin/concerts/${concertId}/queue`
    expect((await http(any(1), 'PATCH', adminQueue, { headers: admin, body: { ...settings, paused: true } })).status).toBe(200)
    for (let i = 0; i < servers.length; i++) {
      const deadline = Date.now() + 10_000
      while ((await http(any(i), 'GET', adminQueue, { headers: admin })).body.config.paused !== true) {
        if (Date.now() > deadline) throw new Error(`process ${i} never saw the queue paused`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    const fans = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const { auth } = await signUpOverHttp(any(i))
        const joined = await joinQueueOverHttp(any(i + 1), concertId, auth)
        expect(joined.status).toBe(201)
        return { auth, token: joined.body.token as string, position: 0 }
      }),
    )
    const statuses = await Promise.all(fans.map((f, i) => queueStatusOverHttp(any(i), f.token)))
    for (const [i, s] of statuses.entries()) fans[i]!.position = s.body.position
    expect(fans.map((f) => f.position).sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i + 1))
    return { concertId, fans }
  }

  it('when three processes admit under a cap while fans leave, then the cap holds, order holds and no one is admitted twice', async () => {
    const cap = 5
    const { concertId, fans } = await pausedQueueWithFans({ strategy: 'cap', maxActive: cap, tickMs: 100 }, 40)
    await http(any(2), 'PATCH', `/v1/admin/concerts/${concertId}/queue`, { headers: admin, body: { paused: false } })

    const done = new Set<Fan>()
    const deadline = Date.now() + 40_000
    let maxActive = 0
    while (done.size < fans.length && Date.now() < deadline) {
      const waiting = fans.filter((f) => !done.has(f))
      const polled = await Promise.all(waiting.map((f, i) => queueStatusOverHttp(any(i), f.token)))
      const active = waiting.filter((_, i) => polled[i]!.body.status === 'ACTIVE')
      maxActive = Math.max(maxActive, active.length)
      expect(active.length).toBeLessThanOrEqual(cap)
      // Admission follows queue order: everyone admitted so far stood ahead of everyone still
      // waiting. The polls are not one instant, so a fan seen waiting before a later admission is
      // asked again: by now they must have been admitted too.
      const lastAdmitted = Math.max(0, ...[...done, ...active].map((f) => f.position))
      const seenWaitingAhead = waiting.filter((f, i) => polled[i]!.body.status === 'WAITING' && f.position < lastAdmitted)
      const again = await Promise.all(seenWaitingAhead.map((f) => queueStatusOverHttp(any(0), f.token)))
      expect(again.filter((r) => r.body.status === 'WAITING')).toEqual([])
      const figures = (await http(any(0), 'GET', `/v1/admin/concerts/${concertId}/queue`, { headers: admin })).body
      expect(figures.active).toBeLessThanOrEqual(cap)
      // The admitted leave (as after paying), each through some process; their slots go to the next.
      await Promise.all(
        active.map(async (f, i) => {
          expect((await http(any(i + 2), 'DELETE', '/v1/queue', { headers: { 'queue-token': f.token } })).status).toBe(204)
          done.add(f)
        }),
      )
    }
    expect(done.size).toBe(fans.length)
    expect(maxActive).toBe(cap)
    const after = await Promise.all(fans.map((f) => queueStatusOverHttp(any(0), f.token)))
    expect(after.every((s) => s.body.status === 'EXPIRED')).toBe(true)
  })

  it('when three processes admit at a rate, then the deployment admits admitPerTick per tick, not three times that', async () => {
    const perTick = 3
    const tickMs = 200
    const { concertId } = await pausedQueueWithFans({ strategy: 'rate', admitPerTick: perTick, tickMs }, 60)
    const started = Date.now()
    await http(any(0), 'PATCH', `/v1/admin/concerts/${concertId}/queue`, { headers: admin, body: { paused: false } })
    // Let admission run for at least a second and at least three ticks' worth (a busy machine is slow).
    let figures: { admittedLastMinute: number; active: number; waiting: number }
    do {
      await new Promise((r) => setTimeout(r, 200))
      figures = (await http(any(1), 'GET', `/v1/admin/concerts/${concertId}/queue`, { headers: admin })).body
    } while ((Date.now() - started < 1000 || figures.admittedLastMinute < perTick * 3) && Date.now() - started < 15_000)
    // Tick windows that the measured span can touch (a span may start and end mid-window).
    const windows = Math.floor((Date.now() - started) / tickMs) + 2
    expect(figures.admittedLastMinute).toBeGreaterThanOrEqual(perTick * 3)
    expect(figures.admittedLastMinute).toBeLessThanOrEqual(perTick * windows)
    expect(figures.active + figures.waiting).toBe(60)
  })
})
