import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { LEASE_MS } from '../../src/events/leases.js'
import {
  admin,
  holdSeatOverHttp,
  http,
  joinQueueOverHttp,
  payOverHttp,
  queueStatusOverHttp,
  retryingUnavailable,
  signUpOverHttp,
  testSecrets,
} from '../support/app.js'
import { type ServerProcess, startServer } from '../support/process.js'
import { freshPostgresSchema } from '../support/stores.js'
import { WebhookReceiver } from '../support/webhook-receiver.js'

const FANS = 1000
const PRICE = 10_000
/** Requests in flight at once, spread over both processes. */
const IN_FLIGHT = 48
/** Deliveries one relay sends to one endpoint at once (PER_ENDPOINT in src/events/relay.ts). */
const PER_ENDPOINT = 4
/**
 * The run takes about a minute on two cores, more when other work shares them (the survivor's own
 * attempts to the hanging receiver run their whole 10 s first): room for a slower turn.
 */
const TEST_TIMEOUT_MS = 180_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Runs `work` for 0 … n-1, `IN_FLIGHT` at a time. */
async function each(n: number, work: (i: number) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n) await work(next++)
    }),
  )
}

/** Waits until `test` holds, checking every 100 ms, for at most `limitMs`; `what` says what did not happen. */
async function until(what: string, test: () => Promise<boolean> | boolean, limitMs = 30_000) {
  const deadline = Date.now() + limitMs
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`not within ${limitMs} ms: ${what}`)
    await sleep(100)
  }
}

describe('when a process is killed in the middle of a relay batch, with payments in flight on two processes', () => {
  const servers: ServerProcess[] = []
  let receiver: WebhookReceiver | undefined
  let client: pg.Client | undefined
  afterAll(async () => {
    for (const s of servers) await s.stop('SIGKILL')
    await receiver?.stop()
    await client?.end()
  })

  it(
    'then the other process finishes the relay: every event in the outbox reaches the receiver, none lost, copies with the same id',
    async () => {
      const started = Date.now()
      const phases: string[] = []
      const phase = (name: string) => phases.push(`${name} ${Date.now() - started} ms`)
      receiver = await WebhookReceiver.start()
      const databaseUrl = await freshPostgresSchema()
      const env = {
        DATABASE_URL: databaseUrl,
        ...testSecrets,
        DEMO_DATA: 'false',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        // The default attempt time (10 s): a claim's lease is short and renewed while its attempt
        // is in flight, so the dead process's claims come back within seconds all the same.
        WEBHOOK_RETRY_BASE_MS: '200',
        WEBHOOK_RETRY_MAX_MS: '1000',
        // A payment the dead process was running is taken over once its key's lease passes (4 × 1 s + 2 × 1 s).
        DB_TIMEOUT_MS: '1000',
        QUEUE_TICK_MS: '100',
      }
      // Both at once: their migrations take turns (migrateToLatest).
      const [a, b] = (await Promise.all([startServer(env), startServer(env)])) as [ServerProcess, ServerProcess]
      servers.push(a, b)
      phase('started')
      const on = (i: number) => (i % 2 === 0 ? a : b).url

      // The endpoint first: every event of the sale is for it.
      const hook = await http(a.url, 'POST', '/v1/admin/webhooks', { headers: admin, body: { url: receiver.url(), events: ['*'] } })
      expect(hook.status).toBe(201)
      receiver.secret = hook.body.secret
      const { body: concert } = await http(a.url, 'POST', '/v1/admin/concerts', {
        headers: admin,
        body: { title: 'Relay Crash', performer: 'P', venue: 'V' },
      })
      const { body: schedule } = await http(b.url, 'POST', `/v1/admin/concerts/${concert.concertId}/schedules`, {
        headers: admin,
        body: {
          startsAt: new Date(Date.now() + 86_400_000).toISOString(),
          sections: [{ name: 'A', rows: FANS / 100, seatsPerRow: 100, price: PRICE }],
        },
      })
      await http(a.url, 'PATCH', `/v1/admin/concerts/${concert.concertId}/queue`, {
        headers: admin,
        body: { strategy: 'rate', admitPerTick: 100_000, maxActive: 100_000, tickMs: 100 },
      })

      // Fans on both processes: signed up, credited by the operator's route, in line, admitted, each holding a seat.
      const fans: { headers: Record<string, string>; reservationId: string }[] = []
      // Setup, not the subject: a step that meets a slow statement on a loaded machine (503, retry
      // later) is sent again, as a fan's client would; each is safe to repeat.
      await each(FANS, async (i) => {
        const user = await signUpOverHttp(on(i), { retryUnavailable: true })
        const credit = await retryingUnavailable(() =>
          http(on(i + 1), 'POST', `/v1/admin/users/${user.userId}/balance/charges`, {
            headers: { ...admin, 'idempotency-key': `credit-${i}` },
            body: { amount: PRICE },
          }),
        )
        expect(credit.status).toBe(200)
        const joined = await retryingUnavailable(() => joinQueueOverHttp(on(i), concert.concertId, user.auth))
        // 200 when a join that answered 503 had already put the fan in line.
        expect([200, 201]).toContain(joined.status)
        const headers = { ...user.auth, 'queue-token': joined.body.token }
        await until(`fan ${i} admitted`, async () => (await queueStatusOverHttp(on(i), joined.body.token)).body.status === 'ACTIVE')
        const held = await retryingUnavailable(() => holdSeatOverHttp(on(i + 1), headers, schedule.scheduleId, i + 1))
        expect(held.status, JSON.stringify(held.body)).toBe(201)
        fans[i] = { headers, reservationId: held.body.reservationId }
      })
      phase('held')
      let answered = 0
      let killed = false
      const payments = new Array<{ status: number; body: any } | undefined>(FANS)
      const paying = each(FANS, async (i) => {
        const server = killed ? b : i % 2 === 0 ? a : b
        payments[i] = await payOverHttp(server.url, fans[i]!.headers, fans[i]!.reservationId, `pay-${i}`).catch(() => undefined)
        answered++
      })
      await until('a quarter of the payments answered', () => answered >= FANS / 4)
      const stuckFrom = receiver.received.length
      receiver.answer = () => 'hang'
      await until('both relays in the middle of a batch', () => receiver!.hanging >= 2 * PER_ENDPOINT, 15_000)
      const inFlight = receiver.received.slice(stuckFrom).map((r) => r.id)
      phase('killed')
      await a.stop('SIGKILL')
      killed = true
      receiver.answer = () => ({ status: 204 })
      const paidBeforeKill = payments.filter((p) => p?.status === 201).length
      await paying

      // Every fan whose answer did not come (or came from the dying process) asks the survivor
      // again with the same key until the answer is final.
      await each(FANS, async (i) => {
        await until(`payment ${i} final`, async () => {
          if (payments[i]?.status === 201) return true
          payments[i] = await payOverHttp(b.url, fans[i]!.headers, fans[i]!.reservationId, `pay-${i}`).catch(() => undefined)
          return payments[i]?.status === 201
        })
      })

      // The survivor numbers what is left and delivers everything, the dead process's claims once their lease passes.
      client = new pg.Client({ connectionString: databaseUrl })
      await client.connect()
      const count = async (query: string) => (await client!.query(query)).rows[0].n as number
      phase('paid')
      const relayStarted = Date.now()
      await until(
        'every event numbered and delivered',
        async () =>
          (await count('select count(*)::int as n from events where sequence is null')) === 0 &&
          (await count(`select count(*)::int as n from webhook_deliveries where status <> 'delivered'`)) === 0,
        40_000,
      )
      const relayMs = Date.now() - relayStarted

      const feed: { id: string; type: string; sequence: number }[] = []
      for (let after = 0; ; ) {
        const page = await http(b.url, 'GET', `/v1/admin/events?after=${after}&limit=1000`, { headers: admin })
        feed.push(...page.body.items)
        if (page.body.items.length === 0) break
        after = page.body.nextAfter
      }
      const byType = (type: string) => feed.filter((e) => e.type === type).length
      expect(byType('payment.succeeded')).toBe(FANS)
      expect(byType('reservation.held')).toBe(FANS)
      expect(byType('balance.charged')).toBe(FANS)
      expect(feed.length).toBe(await count('select count(*)::int as n from events'))

      // None lost: every event of the outbox reached the receiver, signed, and nothing else did.
      const accepted = new Set(receiver.accepted)
      expect(feed.filter((e) => !accepted.has(e.id)).map((e) => e.id)).toEqual([])
      expect(accepted.size).toBe(feed.length)
      expect(receiver.forged).toEqual([])
      // What was in flight when the process died arrived afterwards.
      expect(inFlight.length).toBeGreaterThanOrEqual(2 * PER_ENDPOINT)
      for (const id of inFlight) expect(accepted.has(id)).toBe(true)
      // Copies carry the same id, in the header and the envelope, and the same envelope.
      const first = new Map<string, unknown>()
      for (const r of receiver.received) {
        expect(r.envelope.id).toBe(r.id)
        if (first.has(r.id)) expect(r.envelope).toEqual(first.get(r.id))
        else first.set(r.id, r.envelope)
      }
      const copies = receiver.received.length - first.size
      expect(copies).toBeGreaterThan(0)
      console.info(
        `relay crash: ${feed.length} events, ${paidBeforeKill}/${FANS} payments answered before the kill, ${inFlight.length} deliveries in flight at it; all delivered ${relayMs} ms after the last payment; ${copies} copies received (${phases.join(', ')})`,
      )
    },
    TEST_TIMEOUT_MS,
  )
})

describe('claims are leases, renewed while their attempt is in flight (the default attempt time, 10 s)', () => {
  const servers: ServerProcess[] = []
  const receivers: WebhookReceiver[] = []
  afterAll(async () => {
    for (const s of servers) {
      s.child.kill('SIGCONT')
      await s.stop('SIGKILL')
    }
    for (const r of receivers) await r.stop()
  })

  async function hangingReceiver(): Promise<WebhookReceiver> {
    const r = await WebhookReceiver.start()
    receivers.push(r)
    r.answer = () => 'hang'
    return r
  }

  it(
    'when an attempt takes its whole 10 s, then another process never sends it meanwhile; when the process sending one stops, then another sends it within seconds, and the stopped one writes nothing over it',
    async () => {
      const env = {
        DATABASE_URL: await freshPostgresSchema(),
        ...testSecrets,
        DEMO_DATA: 'false',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        // A failed attempt is not tried again during the test.
        WEBHOOK_RETRY_BASE_MS: '600000',
        WEBHOOK_RETRY_MAX_MS: '600000',
      }
      const start = async () => {
        const server = await startServer(env)
        servers.push(server)
        return server
      }
      const subscribe = async (server: ServerProcess, r: WebhookReceiver, type: string): Promise<string> => {
        const hook = await http(server.url, 'POST', '/v1/admin/webhooks', { headers: admin, body: { url: r.url(), events: [type] } })
        expect(hook.status).toBe(201)
        r.secret = hook.body.secret
        return hook.body.webhookId
      }
      // Both processes up; b is frozen (SIGSTOP) while a claims, so a sends, then b runs again.
      const [a, b] = await Promise.all([start(), start()])
      const delivery = async (webhookId: string) =>
        (await http(a.url, 'GET', `/v1/admin/webhooks/${webhookId}/deliveries`, { headers: admin })).body.items[0]
      const sentByA = async (r: WebhookReceiver, change: () => Promise<unknown>) => {
        b.child.kill('SIGSTOP')
        await change()
        await until('process a sending the attempt', () => r.received.length === 1, 10_000)
        b.child.kill('SIGCONT')
      }

      // Alive and slow: a's attempt hangs for its whole 10 s while b runs its relay every 500 ms.
      const slow = await hangingReceiver()
      const slowHook = await subscribe(a, slow, 'concert.created')
      let concertId = ''
      await sentByA(slow, async () => {
        const { body } = await http(a.url, 'POST', '/v1/admin/concerts', {
          headers: admin,
          body: { title: 'Leases', performer: 'P', venue: 'V' },
        })
        concertId = body.concertId
      })
      const sentAt = Date.now()
      await until('the attempt timed out', async () => (await delivery(slowHook))?.attempts === 1, 20_000)
      const attemptMs = Date.now() - sentAt
      expect(attemptMs).toBeGreaterThan(LEASE_MS + 2000)
      expect(slow.received).toHaveLength(1)
      expect(await delivery(slowHook)).toMatchObject({ status: 'pending', lastError: 'no answer within 10 s' })

      // Stopped: a sends the next attempt, b runs for longer than a lease, then a freezes
      // (SIGSTOP): nothing renews its claim.
      const stuck = await hangingReceiver()
      const stuckHook = await subscribe(a, stuck, 'concert.updated')
      await sentByA(stuck, () => http(a.url, 'PATCH', `/v1/admin/concerts/${concertId}`, { headers: admin, body: { venue: 'Hall B' } }))
      await sleep(LEASE_MS + 1000)
      expect(stuck.received).toHaveLength(1)
      a.child.kill('SIGSTOP')
      const stoppedAt = Date.now()
      await until('process b sending the attempt again', () => stuck.received.length === 2, 30_000)
      const takeoverMs = Date.now() - stoppedAt
      expect(takeoverMs).toBeLessThan(LEASE_MS + 3000)
      expect(stuck.received[1]!.id).toBe(stuck.received[0]!.id)

      // a comes back while b's attempt is in flight: its claim is lost, its attempt cut, and it
      // writes no outcome over b's claim.
      a.child.kill('SIGCONT')
      await until('process a answering again', async () => (await fetch(`${a.url}/health`)).ok, 10_000)
      await sleep(2000)
      expect(await delivery(stuckHook)).toMatchObject({ status: 'pending', attempts: 0, lastError: null })
      expect(stuck.received).toHaveLength(2)
      console.info(
        `leases: an attempt of ${attemptMs} ms was sent once while another process ran; a stopped process's claim was sent again ${takeoverMs} ms after it stopped`,
      )
    },
    TEST_TIMEOUT_MS,
  )
})
