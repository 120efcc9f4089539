import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from './support/process.js'
import { freshPostgresSchema, REDIS_URL } from './support/stores.js'

const ADMIN_KEY = 'processes-admin-key-0123'
const env = { AUTH_SECRET: 'processes-test-secret-0123456789abcdef', ADMIN_KEY, DEMO_DATA: 'false' }

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

  const call = async (url: string, method: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(url, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: res.status === 204 ? null : ((await res.json()) as any) }
  }
  const admin = { 'x-admin-key': ADMIN_KEY }

  /** A concert whose queue is paused while `count` fans join through all three processes. */
  const pausedQueueWithFans = async (settings: Record<string, unknown>, count: number) => {
    const { body } = await call(`${any(0)}/v1/admin/concerts`, 'POST', { title: 'T', performer: 'P', venue: 'V' }, admin)
    const concertId = body.concertId as string
    // Set on one process, obeyed by the others within a tick: fans join once every process says so.
    expect((await call(`${any(1)}/v1/admin/concerts/${concertId}/queue`, 'PATCH', { ...settings, paused: true }, admin)).status).toBe(200)
    for (let i = 0; i < servers.length; i++) {
      const deadline = Date.now() + 10_000
      while ((await call(`${any(i)}/v1/admin/concerts/${concertId}/queue`, 'GET', undefined, admin)).body.config.paused !== true) {
        if (Date.now() > deadline) throw new Error(`process ${i} never saw the queue paused`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    const fans = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const user = (await call(`${any(i)}/v1/users`, 'POST')).body
        const auth = { authorization: `Bearer ${user.accessToken}` }
        const joined = await call(`${any(i + 1)}/v1/concerts/${concertId}/queue`, 'POST', undefined, auth)
        expect(joined.status).toBe(201)
        return { auth, token: joined.body.token as string, position: 0 }
      }),
    )
    const statuses = await Promise.all(fans.map((f, i) => call(`${any(i)}/v1/queue/status`, 'GET', undefined, { 'queue-token': f.token })))
    for (const [i, s] of statuses.entries()) fans[i]!.position = s.body.position
    expect(fans.map((f) => f.position).sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i + 1))
    return { concertId, fans }
  }

  it('when three processes admit under a cap while fans leave, then the cap holds, order holds and no one is admitted twice', async () => {
    const cap = 5
    const { concertId, fans } = await pausedQueueWithFans({ strategy: 'cap', maxActive: cap, tickMs: 100 }, 40)
    await call(`${any(2)}/v1/admin/concerts/${concertId}/queue`, 'PATCH', { paused: false }, admin)

    const done = new Set<Fan>()
    const deadline = Date.now() + 40_000
    let maxActive = 0
    while (done.size < fans.length && Date.now() < deadline) {
      const waiting = fans.filter((f) => !done.has(f))
      const polled = await Promise.all(
        waiting.map((f, i) => call(`${any(i)}/v1/queue/status`, 'GET', undefined, { 'queue-token': f.token })),
      )
      const active = waiting.filter((_, i) => polled[i]!.body.status === 'ACTIVE')
      maxActive = Math.max(maxActive, active.length)
      expect(active.length).toBeLessThanOrEqual(cap)
      // Admission follows queue order: everyone admitted so far stood ahead of everyone still
      // waiting. The polls are not one instant, so a fan seen waiting before a later admission is
      // asked again: by now they must have been admitted too.
      const lastAdmitted = Math.max(0, ...[...done, ...active].map((f) => f.position))
      const seenWaitingAhead = waiting.filter((f, i) => polled[i]!.body.status === 'WAITING' && f.position < lastAdmitted)
      const again = await Promise.all(
        seenWaitingAhead.map((f) => call(`${any(0)}/v1/queue/status`, 'GET', undefined, { 'queue-token': f.token })),
      )
      expect(again.filter((r) => r.body.status === 'WAITING')).toEqual([])
      const figures = (await call(`${any(0)}/v1/admin/concerts/${concertId}/queue`, 'GET', undefined, admin)).body
      expect(figures.active).toBeLessThanOrEqual(cap)
      // The admitted leave (as after paying), each through some process; their slots go to the next.
      await Promise.all(
        active.map(async (f, i) => {
          expect((await call(`${any(i + 2)}/v1/queue`, 'DELETE', undefined, { 'queue-token': f.token })).status).toBe(204)
          done.add(f)
        }),
      )
    }
    expect(done.size).toBe(fans.length)
    expect(maxActive).toBe(cap)
    const after = await Promise.all(fans.map((f) => call(`${any(0)}/v1/queue/status`, 'GET', undefined, { 'queue-token': f.token })))
    expect(after.every((s) => s.body.status === 'EXPIRED')).toBe(true)
  })

  it('when three processes admit at a rate, then the deployment admits admitPerTick per tick, not three times that', async () => {
    const perTick = 3
    const tickMs = 200
    const { concertId } = await pausedQueueWithFans({ strategy: 'rate', admitPerTick: perTick, tickMs }, 60)
    const started = Date.now()
    await call(`${any(0)}/v1/admin/concerts/${concertId}/queue`, 'PATCH', { paused: false }, admin)
    // Let admission run for at least a second and at least three ticks' worth (a busy machine is slow).
    let figures: { admittedLastMinute: number; active: number; waiting: number }
    do {
      await new Promise((r) => setTimeout(r, 200))
      figures = (await call(`${any(1)}/v1/admin/concerts/${concertId}/queue`, 'GET', undefined, admin)).body
    } while ((Date.now() - started < 1000 || figures.admittedLastMinute < perTick * 3) && Date.now() - started < 15_000)
    // Tick windows that the measured span can touch (a span may start and end mid-window).
    const windows = Math.floor((Date.now() - started) / tickMs) + 2
    expect(figures.admittedLastMinute).toBeGreaterThanOrEqual(perTick * 3)
    expect(figures.admittedLastMinute).toBeLessThanOrEqual(perTick * windows)
    expect(figures.active + figures.waiting).toBe(60)
  })
})
