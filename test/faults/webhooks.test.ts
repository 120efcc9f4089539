import type { LookupAddress } from 'node:dns'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LEASE_MS } from '../../src/events/leases.js'
import type { Envelope } from '../../src/events/outbox.js'
import type { Resolve } from '../../src/events/targets.js'
import { WebhookRepository } from '../../src/events/webhooks.js'
import { admin, createConcert, json, startTestApp, startTestApps, type TestApp } from '../support/app.js'
import { databaseTargets, pgliteTarget, postgresTarget } from '../support/stores.js'
import { WebhookReceiver } from '../support/webhook-receiver.js'

const receivers: WebhookReceiver[] = []
const apps: TestApp[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((t) => t.app.close()))
  await Promise.all(receivers.splice(0).map((r) => r.stop()))
})

async function receiver(): Promise<WebhookReceiver> {
  const r = await WebhookReceiver.start()
  receivers.push(r)
  return r
}

async function app(target = pgliteTarget, env: Record<string, string> = {}): Promise<TestApp> {
  const t = await startTestApp(target, env)
  apps.push(t)
  return t
}

function createWebhook(t: TestApp, payload: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: '/v1/admin/webhooks', headers: admin, payload })
}

/** Subscribes the receiver to `events` (every type by default) and gives it the secret. */
async function subscribe(t: TestApp, r: WebhookReceiver, events = ['*']): Promise<string> {
  const res = await createWebhook(t, { url: r.url(), events })
  expect(res.statusCode).toBe(201)
  r.secret = json(res).secret
  return json(res).webhookId
}

/** One relay batch, and every send it started answered. */
async function relayRound(t: TestApp) {
  await t.app.components.events.relay.runOnce()
  await t.app.components.events.relay.settled()
}

async function deliveries(t: TestApp, webhookId: string) {
  const res = await t.app.inject({ url: `/v1/admin/webhooks/${webhookId}/deliveries?limit=1000`, headers: admin })
  expect(res.statusCode).toBe(200)
  return json(res).items as any[]
}

async function allEvents(t: TestApp): Promise<Envelope[]> {
  return json(await t.app.inject({ url: '/v1/admin/events?limit=1000', headers: admin })).items
}

describe('webhook endpoints', () => {
  it('when an endpoint is created, then its secret is shown once; it is listed without it, and removed with its deliveries', async () => {
    const t = await app()
    const r = await receiver()
    const res = await createWebhook(t, { url: r.url(), events: ['payment.succeeded', 'reservation.held'], description: 'tickets e-mail' })
    expect(res.statusCode).toBe(201)
    const created = json(res)
    expect(created).toEqual({
      webhookId: expect.stringMatching(/^wh_/),
      url: r.url(),
      events: ['payment.succeeded', 'reservation.held'],
      description: 'tickets e-mail',
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{32}$/),
      createdAt: new Date(t.clock.now()).toISOString(),
    })
    const listed = json(await t.app.inject({ url: '/v1/admin/webhooks', headers: admin })).items
    const { secret: _, ...shown } = created
    expect(listed).toEqual([shown])
    expect(JSON.stringify(listed)).not.toContain(created.secret)

    const path = `/v1/admin/webhooks/${created.webhookId}`
    expect((await t.app.inject({ method: 'DELETE', url: path, headers: admin })).statusCode).toBe(204)
    expect(json(await t.app.inject({ url: '/v1/admin/webhooks', headers: admin })).items).toEqual([])
    const again = await t.app.inject({ method: 'DELETE', url: path, headers: admin })
    expect(again.statusCode).toBe(404)
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/)
  })

  it('when a subscription names "*" among others, then it is every type', async () => {
    const t = await app()
    const r = await receiver()
    expect(json(await createWebhook(t, { url: r.url(), events: ['balance.charged', '*'] })).events).toEqual(['*'])
  })

  it('when the input is bad, then the answer is a clear 4xx and nothing is stored', async () => {
    const t = await app(postgresTarget)
    expect(t.config.webhooks.allowPrivate).toBe(false)
    const r = await receiver()
    const refusals: [Record<string, unknown>, number, RegExp][] = [
      [{ url: 'ftp://files.example.com/hook', events: ['*'] }, 400, /http or https/],
      [{ url: 'http://169.254.169.254/latest/meta-data/', events: ['*'] }, 400, /link-local, metadata/],
      [
        { url: `http://localhost:${r.port}/hook`, events: ['*'] },
        400,
        /localhost resolves to 127\.0\.0\.1 is a loopback or private address/,
      ],
      [{ url: `http://127.0.0.1:${r.port}/hook`, events: ['*'] }, 400, /loopback or private/],
      [{ url: 'http://[::1]/hook', events: ['*'] }, 400, /loopback or private/],
      [{ url: 'http://10.1.2.3/hook', events: ['*'] }, 400, /loopback or private/],
      [{ url: 'http://[::ffff:192.168.0.1]/hook', events: ['*'] }, 400, /loopback or private/],
      [{ url: `http://example.com/${'a'.repeat(3000)}`, events: ['*'] }, 400, /url/],
      [{ url: 'not a url', events: ['*'] }, 400, /absolute URL/],
      [{ url: r.url(), events: ['payment.exploded'] }, 400, /events/],
      [{ url: r.url(), events: [] }, 400, /events/],
      [{ url: r.url() }, 400, /events/],
      [{ url: r.url(), events: ['*'], secret: 'mine' }, 400, /secret/],
    ]
    for (const [payload, status, detail] of refusals) {
      const res = await createWebhook(t, payload)
      expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(status)
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(json(res).detail).toMatch(detail)
    }
    expect(json(await t.app.inject({ url: '/v1/admin/webhooks', headers: admin })).items).toEqual([])

    for (const [method, url] of [
      ['GET', '/v1/admin/webhooks/wh_nope/deliveries'],
      ['POST', '/v1/admin/webhooks/wh_nope/deliveries/evt_nope/retry'],
      ['DELETE', '/v1/admin/webhooks/wh_nope'],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: admin })
      expect(res.statusCode).toBe(404)
      expect(json(res).code).toBe('NOT_FOUND')
    }
    for (const [method, url] of [
      ['GET', '/v1/admin/webhooks'],
      ['POST', '/v1/admin/webhooks'],
    ] as const) {
      expect((await t.app.inject({ method, url, payload: { url: r.url(), events: ['*'] } })).statusCode).toBe(401)
    }
  })

  it('when a target is an IPv6 address that carries an IPv4 address (NAT64, 6to4, Teredo), then it is judged by that IPv4 address', async () => {
    const t = await app(postgresTarget)
    expect(t.config.webhooks.allowPrivate).toBe(false)
    const refused: [string, RegExp][] = [
      ['http://[64:ff9b::7f00:1]/hook', /64:ff9b::7f00:1 \(which carries 127\.0\.0\.1\) is a loopback or private address/],
      ['http://[64:ff9b::10.0.0.1]/hook', /carries 10\.0\.0\.1\) is a loopback or private address/],
      ['http://[64:ff9b::a9fe:a9fe]/hook', /carries 169\.254\.169\.254\) is a link-local, metadata/],
      ['http://[2002:7f00:1::1]/hook', /2002:7f00:1::1 \(which carries 127\.0\.0\.1\) is a loopback or private address/],
      ['http://[2002:c0a8:101::]/hook', /carries 192\.168\.1\.1\) is a loopback or private address/],
      ['http://[2002:a9fe:a9fe::1]/hook', /carries 169\.254\.169\.254\) is a link-local, metadata/],
      ['http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook', /carries 127\.0\.0\.1\) is a loopback or private address/],
      ['http://[::127.0.0.1]/hook', /carries 127\.0\.0\.1\) is a loopback or private address/],
      ['http://[64:ff9b:1::a00:1]/hook', /64:ff9b:1::a00:1 is a loopback or private address/],
    ]
    for (const [url, detail] of refused) {
      const res = await createWebhook(t, { url, events: ['*'] })
      expect(res.statusCode, url).toBe(400)
      expect(json(res).detail).toMatch(detail)
    }
    expect(json(await t.app.inject({ url: '/v1/admin/webhooks', headers: admin })).items).toEqual([])
    // The same ranges carrying a public address are ordinary targets (an IPv6-only network reaches IPv4 hosts so).
    for (const url of ['http://[64:ff9b::808:808]/hook', 'http://[2002:808:808::1]/hook', 'http://[2606:4700::1111]/hook']) {
      expect((await createWebhook(t, { url, events: ['*'] })).statusCode, url).toBe(201)
    }
    // With private targets allowed, what carries a metadata address is still refused.
    const laptop = await app(pgliteTarget, { WEBHOOK_ALLOW_PRIVATE: 'true' })
    expect((await createWebhook(laptop, { url: 'http://[64:ff9b::7f00:1]/hook', events: ['*'] })).statusCode).toBe(201)
    const metadata = await createWebhook(laptop, { url: 'http://[2002:a9fe:a9fe::]/hook', events: ['*'] })
    expect(metadata.statusCode).toBe(400)
    expect(json(metadata).detail).toMatch(/link-local, metadata/)
  })

  it('when a name resolves to a NAT64 address of a loopback one, then the endpoint is refused and nothing is sent to it', async () => {
    const resolve: Resolve = async () => [{ address: '64:ff9b::7f00:1', family: 6 }]
    const [t] = await startTestApps(pgliteTarget, 1, { WEBHOOK_ALLOW_PRIVATE: 'false' }, { resolve })
    apps.push(t!)
    const res = await createWebhook(t!, { url: 'http://hooks.example.test/hook', events: ['*'] })
    expect(res.statusCode).toBe(400)
    expect(json(res).detail).toMatch(/hooks\.example\.test resolves to 64:ff9b::7f00:1 \(which carries 127\.0\.0\.1\)/)
  })

  it('when a name that resolved to a public address resolves to loopback at delivery time, then nothing is sent to it', async () => {
    let answer: LookupAddress[] = [{ address: '203.0.113.7', family: 4 }]
    const resolve: Resolve = async () => answer
    const [t] = await startTestApps(pgliteTarget, 1, { WEBHOOK_ALLOW_PRIVATE: 'false' }, { resolve })
    apps.push(t!)
    const r = await receiver()
    const res = await createWebhook(t!, { url: `http://hooks.example.test:${r.port}/hook`, events: ['*'] })
    expect(res.statusCode).toBe(201)
    answer = [{ address: '127.0.0.1', family: 4 }]
    await createConcert(t!)
    await relayRound(t!)
    const log = await deliveries(t!, json(res).webhookId)
    expect(log).toHaveLength(2)
    for (const d of log) {
      expect(d).toMatchObject({ status: 'pending', attempts: 1, lastResponseStatus: null })
      expect(d.lastError).toMatch(/target refused: hooks\.example\.test resolves to 127\.0\.0\.1 is a loopback or private address/)
    }
    expect(r.received).toEqual([])
  })
})

describe.each(databaseTargets)('the relay on $name', (target) => {
  let t: TestApp
  beforeEach(async () => {
    t = await app(target, { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '1000', WEBHOOK_RETRY_MAX_MS: '60000' })
  })

  it('when an endpoint answers 500 to its first attempts, then every event arrives signed once it answers 2xx, in the envelope of the feed', async () => {
    const r = await receiver()
    r.answer = (n) => (n <= 2 ? { status: 500, body: 'x'.repeat(5000) } : { status: 204 })
    const webhookId = await subscribe(t, r)
    await createConcert(t)
    await relayRound(t)
    const failed = await deliveries(t, webhookId)
    expect(failed).toHaveLength(2)
    for (const d of failed) {
      expect(d).toMatchObject({ status: 'pending', attempts: 1, lastResponseStatus: 500, lastError: null })
      expect(d.lastResponseBody).toBe('x'.repeat(1024))
      expect(Date.parse(d.nextAttemptAt)).toBeGreaterThan(t.clock.now())
      expect(Date.parse(d.nextAttemptAt)).toBeLessThanOrEqual(t.clock.now() + 1000)
    }
    // Not due yet: nothing is sent.
    await relayRound(t)
    expect(r.received).toHaveLength(2)

    t.clock.advance(1000)
    await relayRound(t)
    const events = await allEvents(t)
    expect(r.accepted.sort()).toEqual(events.map((e) => e.id).sort())
    expect(r.forged).toEqual([])
    for (const got of r.received.slice(2)) expect(got.envelope).toEqual(events.find((e) => e.id === got.id))
    const delivered = await deliveries(t, webhookId)
    for (const d of delivered) expect(d).toMatchObject({ status: 'delivered', attempts: 2, lastResponseStatus: 204, nextAttemptAt: null })
  })

  it('when an endpoint fails every attempt, then a delivery is failed after WEBHOOK_MAX_ATTEMPTS, and a retry sends it again', async () => {
    await t.app.close()
    t = await app(target, {
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_BASE_MS: '1000',
      WEBHOOK_RETRY_MAX_MS: '1000',
      WEBHOOK_MAX_ATTEMPTS: '3',
    })
    const r = await receiver()
    r.answer = () => ({ status: 503 })
    const other = await receiver()
    const webhookId = await subscribe(t, r, ['schedule.created'])
    await subscribe(t, other, ['concert.created'])
    await createConcert(t)
    for (let i = 0; i < 5; i++) {
      await relayRound(t)
      t.clock.advance(1000)
    }
    expect(r.received).toHaveLength(3)
    expect(other.accepted).toHaveLength(1)
    const [d] = await deliveries(t, webhookId)
    expect(d).toMatchObject({ type: 'schedule.created', status: 'failed', attempts: 3, lastResponseStatus: 503, nextAttemptAt: null })

    r.answer = () => ({ status: 200 })
    const retried = await t.app.inject({
      method: 'POST',
      url: `/v1/admin/webhooks/${webhookId}/deliveries/${d.eventId}/retry`,
      headers: admin,
    })
    expect(retried.statusCode).toBe(202)
    expect(json(retried)).toMatchObject({ eventId: d.eventId, status: 'pending', attempts: 0 })
    await relayRound(t)
    expect(r.accepted).toEqual([d.eventId])
    expect((await deliveries(t, webhookId))[0]).toMatchObject({ status: 'delivered', attempts: 1, lastResponseStatus: 200 })
    const unknown = await t.app.inject({ method: 'POST', url: `/v1/admin/webhooks/${webhookId}/deliveries/evt_nope/retry`, headers: admin })
    expect(unknown.statusCode).toBe(404)
  })

  it('when an endpoint hangs, then its attempt ends after 10 s and the other endpoints get theirs meanwhile', async () => {
    const slow = await receiver()
    slow.answer = (n) => (n === 1 ? 'hang' : { status: 200 })
    const fast = await receiver()
    const slowId = await subscribe(t, slow, ['concert.created'])
    await subscribe(t, fast)
    await createConcert(t)
    await t.app.components.events.relay.runOnce()
    await fast.until((f) => f.accepted.length === 2)
    expect(slow.hanging).toBe(1)
    // The next event reaches the fast endpoint while the slow one still has its request open.
    await createConcert(t)
    await t.app.components.events.relay.runOnce()
    await fast.until((f) => f.accepted.length === 4)
    expect(slow.hanging).toBe(1)
    expect(slow.received).toHaveLength(1)

    await t.app.components.events.relay.settled()
    const [first] = (await deliveries(t, slowId)).slice(-1)
    expect(first).toMatchObject({ status: 'pending', attempts: 1, lastResponseStatus: null, lastError: 'no answer within 10 s' })
    t.clock.advance(60_000)
    await relayRound(t)
    await relayRound(t)
    const concerts = (await allEvents(t)).filter((e) => e.type === 'concert.created').map((e) => e.id)
    expect([...new Set(slow.accepted)].sort()).toEqual(concerts.sort())
  }, 30_000)

  it('when an endpoint is down for a while, then its backlog arrives once it is back, and another endpoint is not held up', async () => {
    const down = await receiver()
    const healthy = await receiver()
    const downId = await subscribe(t, down)
    await subscribe(t, healthy)
    await down.stop()
    const attempts = async () => (await deliveries(t, downId)).reduce((n, d) => n + d.attempts, 0)
    for (let round = 0; round < 6; round++) {
      const before = await attempts()
      await createConcert(t)
      await relayRound(t)
      // The healthy endpoint has every event of the round at once.
      expect(healthy.accepted).toHaveLength(2 * (round + 1))
      // The down endpoint backs off as a whole: one small claim per try, not an attempt per event.
      expect((await attempts()) - before).toBeLessThanOrEqual(4)
      t.clock.advance(5000)
    }
    const events = await allEvents(t)
    expect(events).toHaveLength(12)
    expect([...healthy.accepted].sort()).toEqual(events.map((e) => e.id).sort())
    const backlog = await deliveries(t, downId)
    expect(backlog.every((d) => d.status === 'pending')).toBe(true)
    expect(backlog.filter((d) => d.attempts > 0).every((d) => /request failed: connect ECONNREFUSED/.test(d.lastError))).toBe(true)

    await down.listen()
    t.clock.advance(60_000)
    // One batch: the first answer ends the endpoint's backoff, and its backlog follows at once.
    await relayRound(t)
    expect([...new Set(down.accepted)].sort()).toEqual(events.map((e) => e.id).sort())
    expect(down.forged).toEqual([])
    expect((await deliveries(t, downId)).every((d) => d.status === 'delivered')).toBe(true)
  })

  it('when an endpoint answers a redirect, then it is not followed: the attempt failed with its status', async () => {
    const elsewhere = await receiver()
    const r = await receiver()
    r.answer = () => ({ status: 307, headers: { location: elsewhere.url() } })
    const webhookId = await subscribe(t, r, ['concert.created'])
    elsewhere.secret = r.secret
    await createConcert(t)
    await relayRound(t)
    expect((await deliveries(t, webhookId))[0]).toMatchObject({ status: 'pending', attempts: 1, lastResponseStatus: 307 })
    expect(elsewhere.received).toEqual([])
  })

  it('when events are past their retention, then one with a pending delivery is kept until it is over', async () => {
    const r = await receiver()
    r.answer = () => ({ status: 500 })
    await subscribe(t, r, ['concert.created'])
    await createConcert(t)
    await relayRound(t)
    t.clock.advance(8 * 24 * 3600 * 1000)
    expect(await t.app.components.events.sweep()).toBe(1)
    expect((await allEvents(t)).map((e) => e.type)).toEqual(['concert.created'])
    r.answer = () => ({ status: 200 })
    await relayRound(t)
    expect(await t.app.components.events.sweep()).toBe(1)
    expect(await allEvents(t)).toEqual([])
  })
})

describe('the relay in two processes on postgres', () => {
  it('when both run at once, then each delivery is sent once; a claim of a process that died comes back after its lease', async () => {
    const [a, b] = await startTestApps(postgresTarget, 2, { WEBHOOK_ALLOW_PRIVATE: 'true' })
    apps.push(a!, b!)
    const r = await receiver()
    await subscribe(a!, r)
    for (let i = 0; i < 20; i++) await createConcert(a!)
    await a!.app.components.events.outbox.sequence(1000, new Date(a!.clock.now()))
    // 40 due deliveries to one endpoint, drained by both processes at once: each is sent once.
    await Promise.all([relayRound(a!), relayRound(b!)])
    expect(r.received).toHaveLength(40)
    expect(new Set(r.received.map((x) => x.id)).size).toBe(40)
    await createConcert(a!)
    await createConcert(a!)
    await a!.app.components.events.outbox.sequence(1000, new Date(a!.clock.now()))

    // A process claims and dies before sending (nothing renews its claim): the claim is due again
    // once its lease passes, a few seconds.
    const { db } = a!.app.components.database
    const dead = await new WebhookRepository(db).claim(new Date(a!.clock.now()), new Date(a!.clock.now() + LEASE_MS), 4, 100, [])
    expect(dead).toHaveLength(4)
    await relayRound(b!)
    expect(r.received).toHaveLength(40)
    b!.clock.advance(LEASE_MS - 1)
    await relayRound(b!)
    expect(r.received).toHaveLength(40)
    b!.clock.advance(1)
    await relayRound(b!)
    expect(r.received).toHaveLength(44)
    expect(new Set(r.received.map((x) => x.id)).size).toBe(44)
  })
})
