import { afterAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { json, sharedTestApp, testConfig } from '../support/app.js'
import { ManualClock } from '../support/clock.js'
import { embeddedImage, pgliteTarget, postgresTarget, storesOf } from '../support/stores.js'
import { startTcpProxy } from '../support/tcp-proxy.js'

describe('HTTP conventions', () => {
  const t = sharedTestApp(pgliteTarget)

  it('when /health and /ready are asked, then both answer 200', async () => {
    expect(json(await t.app.inject('/health'))).toEqual({ status: 'ok' })
    const ready = await t.app.inject('/ready')
    expect(ready.statusCode).toBe(200)
    expect(json(ready)).toEqual({ status: 'ready' })
  })

  it('when a route does not exist, then 404 is a problem document', async () => {
    const res = await t.app.inject('/v1/nothing-here')
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toContain('application/problem+json')
    expect(json(res)).toMatchObject({ status: 404, code: 'NOT_FOUND', title: 'Not found' })
    expect(json(res).type).toMatch(/^urn:stagedoor:problem:/)
  })

  it('when the body is not valid JSON, then 400 without internals', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/concerts',
      headers: { 'x-admin-key': t.config.adminKey, 'content-type': 'application/json' },
      payload: '{"title": ',
    })
    expect(res.statusCode).toBe(400)
    expect(json(res).code).toBe('MALFORMED_REQUEST')
    expect(res.body).not.toMatch(/at .*\.(js|ts):\d+/)
  })

  it('when a client sends a request id, then the response carries it; otherwise one is generated', async () => {
    const given = await t.app.inject({ url: '/health', headers: { 'x-request-id': 'abc-123' } })
    expect(given.headers['x-request-id']).toBe('abc-123')
    const generated = await t.app.inject({ url: '/health' })
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })
})

describe('the admin key', () => {
  it('when the app is given an empty admin key, then it refuses to be built rather than open the admin API to an empty header', async () => {
    const config = { ...(await testConfig(pgliteTarget)), adminKey: '' }
    await expect(buildApp({ config, clock: new ManualClock(), embeddedImage: embeddedImage() })).rejects.toThrow(
      'the admin routes need a non-empty admin key',
    )
  })
})

/** An app logging JSON lines at `level` into an array, with a handler that fails on /boom, its message an internal's. */
async function loggingApp(level: string) {
  const lines: Record<string, unknown>[] = []
  const stream = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }
  const app = await buildApp({
    config: await testConfig(pgliteTarget),
    clock: new ManualClock(),
    logger: { level, stream },
    embeddedImage: embeddedImage(),
  })
  app.get('/boom', async () => {
    throw new Error('secret: password=hunter2 at db.internal:5432')
  })
  return { app, lines }
}

/** The app logging at warn, started once for the tests below that use it; each reads its own request's lines. */
let warnApp: ReturnType<typeof loggingApp> | undefined
const failing = () => (warnApp ??= loggingApp('warn'))
afterAll(async () => (await warnApp)?.app.close())

describe('request ids in the logs', () => {
  it('when a request logs at a level that is on, then each of its lines carries its request id', async () => {
    const { app, lines } = await failing()
    await app.inject({ url: '/v1/concerts', headers: { 'x-request-id': 'quiet-1' } })
    await app.inject({ url: '/boom', headers: { 'x-request-id': 'loud-1' } })
    expect(lines.filter((l) => l.reqId === 'quiet-1')).toEqual([])
    const loud = lines.filter((l) => l.msg !== undefined && l.level === 50)
    expect(loud.length).toBeGreaterThan(0)
    for (const line of loud) expect(line.reqId).toBe('loud-1')
  })

  it('when request logging is on, then the incoming and completed lines carry the request id', async () => {
    const { app, lines } = await loggingApp('info')
    await app.inject({ url: '/v1/concerts', headers: { 'x-request-id': 'seen-1' } })
    await app.close()
    expect(lines.filter((l) => l.reqId === 'seen-1').map((l) => l.msg)).toEqual(['incoming request', 'request completed'])
  })
})

describe('5xx answers never leak internals', () => {
  it('when a handler fails unexpectedly, then 500 says only that an internal error occurred', async () => {
    const { app } = await failing()
    const res = await app.inject('/boom')
    expect(res.statusCode).toBe(500)
    expect(json(res)).toMatchObject({ code: 'INTERNAL', detail: 'an internal error occurred' })
    expect(res.body).not.toContain('hunter2')
  })

  it.each(storesOf(postgresTarget))(
    'when PostgreSQL goes away, then /ready and data routes answer 503 without internals',
    async (target) => {
      const config = await testConfig(target)
      const url = new URL(config.databaseUrl!)
      const proxy = await startTcpProxy(Number(url.port || 5432), url.hostname)
      url.host = `127.0.0.1:${proxy.port}`
      const app = await buildApp({ config: { ...config, databaseUrl: url.toString() }, clock: new ManualClock() })
      expect((await app.inject('/ready')).statusCode).toBe(200)
      await proxy.cut()
      for (const path of ['/ready', '/v1/concerts']) {
        const res = await app.inject(path)
        expect(res.statusCode, path).toBe(503)
        expect(json(res)).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' })
        expect(res.body).not.toMatch(/ECONN|127\.0\.0\.1|postgres/i)
      }
      await app.close()
    },
  )
})
