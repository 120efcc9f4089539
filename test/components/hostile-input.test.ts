import { mkdtempSync, rmSync, statSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { MAX_PATH_SEGMENT } from '../../src/platform/http/problems.js'
import type { RedisQueueStore } from '../../src/queue/redis-store.js'
import {
  admin,
  admittedFans,
  chargeBalance,
  createConcert,
  createUser,
  fileTestApps,
  holdSeat,
  json,
  listen,
  pay,
  readBalance,
  seatMap,
  startTestApp,
  type TestApp,
} from '../support/app.js'
import { databaseTargets, pgliteTarget, postgresRedisTarget, storesOf } from '../support/stores.js'

const problemOf = (res: { statusCode: number; headers: Record<string, unknown>; body: string }) => ({
  status: res.statusCode,
  type: res.headers['content-type'],
  body: JSON.parse(res.body) as { code: string; field?: string; detail: string },
})

const apps = fileTestApps()

const concerts = async (t: TestApp) => json(await t.app.inject({ url: '/v1/concerts' })).items as { concertId: string }[]

describe.each(databaseTargets)('hostile input on $name: a clear 400 and no change', (target) => {
  const t = apps.shared(target)

  it('when a path id holds a NUL character, then 400 names the field', async () => {
    const { concertId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    const res = problemOf(await seatMap(t, fan!.headers, 'sch_%00x'))
    expect(res).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', field: 'scheduleId' } })
    expect(res.body.detail).toMatch(/NUL/)
  })

  it('when a body string holds a NUL character, then the hold is refused and no seat is taken', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    const res = await holdSeat(t, fan!.headers, `${scheduleId}\u0000`, 1)
    expect(problemOf(res)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', field: 'scheduleId' } })
    expect(json(await t.app.inject({ url: '/v1/me/reservations', headers: fan!.auth })).items).toEqual([])
  })

  it('when a payment body holds a lone surrogate under an Idempotency-Key, then 400 and the key stays unused', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    await chargeBalance(t, fan!.auth, 100_000)
    const held = json(await holdSeat(t, fan!.headers, scheduleId, 1))
    const bad = await t.app.inject({
      method: 'POST',
      url: '/v1/payments',
      headers: { ...fan!.headers, 'idempotency-key': 'k-surrogate', 'content-type': 'application/json' },
      payload: '{"reservationId":"\\ud800"}',
    })
    expect(problemOf(bad)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', field: 'reservationId' } })
    expect(problemOf(bad).body.detail).toMatch(/surrogate/)
    // The key was never claimed: the same key pays the real hold.
    const paid = await pay(t, fan!.headers, held.reservationId, 'k-surrogate')
    expect(paid.statusCode).toBe(201)
  })

  it('when a title holds a lone surrogate or a NUL, then the concert is not created', async () => {
    const before = await concerts(t)
    for (const title of ['\ud800abc', 'a\u0000b', 'x\udc00']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/admin/concerts',
        headers: admin,
        payload: { title, performer: 'P', venue: 'V' },
      })
      expect(problemOf(res), title).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', field: 'title' } })
    }
    expect(await concerts(t)).toEqual(before)
  })

  it('when a timestamp is a leap second, an impossible date, too far from UTC or past 9999 in UTC, then 400 and the list still answers', async () => {
    const before = await concerts(t)
    for (const at of [
      '2031-06-30T23:59:60Z',
      '2031-02-30T10:00:00Z',
      '9999-12-31T23:59:59-23:59',
      '9999-12-31T23:59:59-14:00',
      '2031-01-01T10:00:00+14:01',
      '1969-12-31T23:59:59Z',
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/admin/concerts',
        headers: admin,
        payload: { title: 'T', performer: 'P', venue: 'V', queueOpensAt: at },
      })
      expect(problemOf(res), at).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', field: 'queueOpensAt' } })
      // One message whichever check refused it (the documented pattern, or the instant itself).
      expect(problemOf(res).body.detail, at).toMatch(/must be an RFC 3339 date-time with an offset within ±14:00/)
    }
    // The edges that are real instants still work.
    const edge = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/concerts',
      headers: admin,
      payload: { title: 'Edge', performer: 'P', venue: 'V', queueOpensAt: '2031-01-01T10:00:00+14:00' },
    })
    expect(edge.statusCode).toBe(201)
    const after = await t.app.inject({ url: '/v1/concerts' })
    expect(after.statusCode).toBe(200)
    expect(json(after).items).toHaveLength(before.length + 1)
  })

  it('when a body carries __proto__ or constructor keys, then 400 names the key and the balance is untouched', async () => {
    const u = await createUser(t)
    for (const payload of ['{"amount":5,"__proto__":{"admin":true}}', '{"amount":5,"constructor":{"prototype":{"x":1}}}']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/me/balance/charges',
        headers: { ...u.auth, 'content-type': 'application/json' },
        payload,
      })
      const problem = problemOf(res)
      expect(problem, payload).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } })
      expect(problem.body.detail).toMatch(/__proto__|constructor/)
    }
    expect(await readBalance(t, u.auth)).toBe(0)
  })

  it('when a JSON body is empty or not JSON, then 400 MALFORMED_REQUEST as a problem document', async () => {
    const u = await createUser(t)
    for (const payload of ['', '{"amount":', 'amount=5']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/me/balance/charges',
        headers: { ...u.auth, 'content-type': 'application/json' },
        payload,
      })
      expect(problemOf(res), payload).toMatchObject({
        status: 400,
        type: expect.stringContaining('application/problem+json'),
        body: { code: 'MALFORMED_REQUEST' },
      })
    }
  })

  it('when a hold is retried with its Idempotency-Key, then one seat is held and the first answer comes back', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    const headers = { ...fan!.headers, 'idempotency-key': 'hold-once' }
    const hold = (seatNo: number) => t.app.inject({ method: 'POST', url: '/v1/reservations', headers, payload: { scheduleId, seatNo } })
    const first = await hold(7)
    const again = await hold(7)
    expect(first.statusCode).toBe(201)
    expect(again.statusCode).toBe(201)
    expect(json(again)).toEqual(json(first))
    expect(problemOf(await hold(8))).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_REUSED' } })
    expect(json(await t.app.inject({ url: '/v1/me/reservations', headers: fan!.auth })).items).toHaveLength(1)
  })

  it('when a date has started, then a live hold taken before can no longer be paid', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/concerts',
      headers: admin,
      payload: { title: 'Soon', performer: 'P', venue: 'V' },
    })
    const { concertId } = json(created)
    const schedule = await t.app.inject({
      method: 'POST',
      url: `/v1/admin/concerts/${concertId}/schedules`,
      headers: admin,
      payload: {
        startsAt: new Date(t.clock.now() + 60_000).toISOString(),
        sections: [{ name: 'A', rows: 1, seatsPerRow: 5, price: 10_000 }],
      },
    })
    const { scheduleId } = json(schedule)
    const [fan] = await admittedFans(t, concertId, 1)
    await chargeBalance(t, fan!.auth, 50_000)
    const held = json(await holdSeat(t, fan!.headers, scheduleId, 1))
    t.clock.advance(61_000)
    expect(problemOf(await pay(t, fan!.headers, held.reservationId))).toMatchObject({ status: 409, body: { code: 'SCHEDULE_CLOSED' } })
    expect(await readBalance(t, fan!.auth)).toBe(50_000)
  })
})

describe('HTTP hygiene', () => {
  const t = apps.shared(pgliteTarget)

  it('when X-Request-Id is short and visible, then it is the request id; when long or odd, then a fresh one replaces it', async () => {
    const echoed = await t.app.inject({ url: '/health', headers: { 'x-request-id': 'lb-7f3a-0001' } })
    expect(echoed.headers['x-request-id']).toBe('lb-7f3a-0001')
    for (const given of ['x'.repeat(8192), 'has space', 'x'.repeat(129)]) {
      const res = await t.app.inject({ url: '/health', headers: { 'x-request-id': given } })
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    }
  })

  it('when a path does not decode, then 400 says so; when a segment is longer than a request line may be, then 414 says that', async () => {
    const undecodable = problemOf(await t.app.inject({ url: '/v1/concerts/%FF/queue/challenge' }))
    expect(undecodable).toMatchObject({ status: 400, type: 'application/problem+json; charset=utf-8', body: { code: 'MALFORMED_REQUEST' } })
    expect(undecodable.body.detail).toMatch(/does not decode as UTF-8/)
    const tooLong = problemOf(await t.app.inject({ url: `/v1/concerts/${'x'.repeat(MAX_PATH_SEGMENT + 1)}/queue/challenge` }))
    expect(tooLong).toMatchObject({
      status: 414,
      body: { code: 'URI_TOO_LONG', detail: `a path segment is longer than ${MAX_PATH_SEGMENT} characters` },
    })
    // Up to that length a segment reaches its route, whose schema names the parameter.
    const long = problemOf(await t.app.inject({ url: `/v1/concerts/${'x'.repeat(MAX_PATH_SEGMENT)}/queue/challenge` }))
    expect(long).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', field: 'concertId' } })
  })

  it('when anything answers, then nosniff and no framing are said, problems included', async () => {
    for (const url of ['/v1/concerts', '/nowhere', '/health']) {
      const res = await t.app.inject({ url })
      expect(res.headers['x-content-type-options'], url).toBe('nosniff')
      expect(res.headers['x-frame-options'], url).toBe('DENY')
      expect(String(res.headers['content-security-policy']), url).toContain("frame-ancestors 'none'")
    }
  })

  it("when an API answer comes, then it carries the short set for JSON; pages, their files and the API docs carry helmet's full set", async () => {
    const api = await t.app.inject({ url: '/v1/concerts' })
    expect(api.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'")
    expect(api.headers['referrer-policy']).toBe('no-referrer')
    expect(api.headers['cross-origin-opener-policy']).toBeUndefined()
    for (const url of ['/docs/', '/vendor/preact.js']) {
      const res = await t.app.inject({ url })
      expect(res.statusCode, url).toBe(200)
      expect(res.headers['cross-origin-opener-policy'], url).toBe('same-origin')
      expect(res.headers['strict-transport-security'], url).toContain('max-age=')
      expect(String(res.headers['content-security-policy']), url).toContain("script-src 'self'")
      expect(res.headers['x-frame-options'], url).toBe('DENY')
    }
  })
})

/** Sends raw bytes to a listening server and reads what comes back until it closes the connection. */
function rawExchange(
  base: string,
  send: (socket: net.Socket) => void,
  timeoutMs = 10_000,
): Promise<{ text: string; closedAfterMs: number }> {
  const { port } = new URL(base)
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => send(socket))
    let text = ''
    socket.on('data', (d) => (text += d))
    socket.on('error', reject)
    socket.on('close', () => resolve({ text, closedAfterMs: Date.now() - started }))
    socket.setTimeout(timeoutMs, () => {
      socket.destroy()
      reject(new Error(`no close within ${timeoutMs} ms; got: ${text}`))
    })
  })
}

const problemIn = (text: string) => {
  const [head, body] = text.split('\r\n\r\n')
  return { statusLine: head!.split('\r\n')[0], head: head!.toLowerCase(), body: JSON.parse(body!) as { code: string; status: number } }
}

describe('refusals before a request exists, over a real socket', () => {
  let t: TestApp
  let base: string
  beforeAll(async () => {
    t = await startTestApp(pgliteTarget, { REQUEST_TIMEOUT_MS: '500' })
    base = await listen(t.app)
  })
  afterAll(() => t.app.close())

  it('when the headers are too large, then 431 is a problem document and the connection closes', async () => {
    const { text } = await rawExchange(base, (s) => s.write(`GET /v1/concerts HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`))
    const res = problemIn(text)
    expect(res.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large')
    expect(res.head).toContain('content-type: application/problem+json')
    expect(res.body).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE' })
  })

  it('when the URL is too large, then the refusal is a problem document', async () => {
    const { text } = await rawExchange(base, (s) => s.write(`GET /v1/concerts?x=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`))
    const res = problemIn(text)
    expect(res.head).toContain('content-type: application/problem+json')
    expect(res.body.status).toBeGreaterThanOrEqual(400)
    expect(res.body.status).toBeLessThan(500)
  })

  it('when a body trickles in a byte at a time, then 408 comes as a problem document and the connection closes', async () => {
    let trickle: NodeJS.Timeout | undefined
    const { text, closedAfterMs } = await rawExchange(base, (s) => {
      s.write('POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{')
      trickle = setInterval(() => s.writable && s.write(' '), 200)
    })
    clearInterval(trickle)
    const res = problemIn(text)
    expect(res.statusLine).toBe('HTTP/1.1 408 Request Timeout')
    expect(res.body).toMatchObject({ status: 408, code: 'REQUEST_TIMEOUT' })
    // The deadline is 500 ms; late requests are looked for every second.
    expect(closedAfterMs).toBeLessThan(3000)
  })
})

describe('files of the embedded database', () => {
  it('when DATA_DIR is created, then it and the secrets in it are readable by their owner only', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'stagedoor-modes-'))
    const dataDir = join(parent, 'data')
    loadConfig({ DATA_DIR: dataDir })
    expect(statSync(dataDir).mode & 0o777).toBe(0o700)
    expect(statSync(join(dataDir, 'auth-secret')).mode & 0o777).toBe(0o600)
    expect(statSync(join(dataDir, 'admin-key')).mode & 0o777).toBe(0o600)
    // The embedded database's own folder, once it has made its files: test/faults/server.test.ts.
    rmSync(parent, { recursive: true, force: true })
  })
})

describe.each(storesOf(postgresRedisTarget))('queue figures on $name', (target) => {
  const t = apps.shared(target)

  it('when an admission was recorded with a negative wait (a process whose clock ran behind), then the figures still answer', async () => {
    const { concertId } = await createConcert(t)
    await admittedFans(t, concertId, 2)
    const store = t.app.components.queueStore as RedisQueueStore
    await store.redis.zadd(store.key(concertId, 'admitted'), t.clock.now(), 'qt_skewed|-5')
    const res = await t.app.inject({ url: `/v1/admin/concerts/${concertId}/queue`, headers: admin })
    expect(res.statusCode).toBe(200)
    // Two waited one tick (1 s), the skewed one counts as no wait: the median is 1 s.
    expect(json(res)).toMatchObject({ admittedLastMinute: 3, p50WaitSeconds: 1 })
  })
})
