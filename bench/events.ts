/**
 * What the outbox costs a payment, and how fast the relay delivers: `npm run bench:events` alone,
 * or as the last part of `npm run bench`. Three service processes on PostgreSQL, each on a fresh
 * schema with its own fans, run side by side:
 *
 * - **no outbox**: the same service, whose schema's `events_emit` is replaced, after start, by a
 *   function that writes nothing. Every payment runs the very same SQL (`pay_reservation`) but
 *   the event insert, and the relay then has nothing to number. Only this benchmark does that,
 *   in its own schema: the service has no switch to turn events off.
 * - **outbox**: the service as shipped, no webhook: each payment writes its event, the relay
 *   numbers it.
 * - **outbox + webhook `*`**: the same, with an endpoint subscribed to every event, its receiver
 *   (test/support/webhook-receiver.ts, verifying each signature) in this process.
 *
 * After a tenth of each service's fans have paid to warm it up (its code compiled, its statements
 * planned), the payments run in rounds, each round paying a share of each service's fans, one
 * service after the other, the order turning each round, so neither a shared machine's drift nor
 * going first or last falls on one variant more than another. Right before each turn, 50 of the
 * service's fans pay uncounted, so its database connections are warm however long it waited. Between two turns the outbox is
 * let drain (every event numbered and delivered), so no service's leftover relay work is counted
 * against another's turn. Each variant is compared with the no-outbox turn of the same round,
 * and the figures are the medians over the rounds, with their spread. CPU per payment is the
 * service process's and, when PostgreSQL runs on this machine, its database backends' (found by
 * the `application_name` the service connects with): the outbox's work is mostly in the database.
 *
 * Before the payments, the relay's rate: the webhook's receiver is down while the fans are set up
 * (their charges and holds pile up as deliveries, the endpoint backs off), then it comes back and
 * one delivery is retried: the endpoint's whole backlog is due at once, and the time until all of
 * it is delivered gives delivered events per second.
 *
 *   BENCH_EVENT_FANS (3000 per service)  BENCH_EVENT_ROUNDS (9)  BENCH_CONNECTIONS (50: payments in flight)
 *   BENCH_DATABASE_URL (local test database, fresh schemas)
 */
import { randomBytes } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { WebhookReceiver } from '../test/support/webhook-receiver.js'
import {
  CONNECTIONS,
  call,
  closeClients,
  cpuTimeUs,
  driveEach,
  freshSchema,
  inParallel,
  machine,
  type Row,
  startServer,
  writeSummary,
} from './lib.js'
import { eventsTable } from './tables.js'

const FANS = Number(process.env.BENCH_EVENT_FANS ?? 3000)
/** A multiple of 3: each variant takes each place in a round's order as often as the others. */
const ROUNDS = Number(process.env.BENCH_EVENT_ROUNDS ?? 9)
/** Fans of each service who pay before the measured rounds, to warm its payment path up. */
const WARM_UP = Math.floor(FANS / 10)
/**
 * Fans of a service who pay, not counted, right before each of its turns: its database
 * connections are open and warm however long it waited for its turn (the service's pool closes a
 * connection idle for 10 s, and a new one plans every statement and function again).
 */
const WARM_PER_TURN = 50
/** Payments measured per service. */
const PAID = FANS - WARM_UP - ROUNDS * WARM_PER_TURN
const PRICE = 50_000
const ADMIN_KEY = randomBytes(16).toString('hex')
const admin = { 'x-admin-key': ADMIN_KEY }

/** The event insert taken out: same signature, writes nothing. */
const NO_EVENTS = `create or replace function events_emit(p_type text, p_data jsonb, p_at timestamptz) returns text
  language plpgsql as $$ begin return null; end $$`

type Variant = 'no outbox' | 'outbox' | 'outbox + webhook *'

interface Service {
  variant: Variant
  url: string
  pid: number
  /** The application_name its database connections carry: how its backends are found. */
  appName: string
  db: pg.Client
  fans: { headers: Record<string, string>; reservationId: string }[]
  stop(): Promise<void>
}

/** One service on a fresh schema, its fans signed up, charged, admitted, each holding one seat. */
async function startService(variant: Variant, receiver: WebhookReceiver): Promise<Service> {
  const schema = await freshSchema()
  const appName = `stagedoor-bench-${randomBytes(4).toString('hex')}`
  const serviceUrl = new URL(schema.url)
  serviceUrl.searchParams.set('application_name', appName)
  const server = await startServer({
    DATABASE_URL: serviceUrl.toString(),
    AUTH_SECRET: randomBytes(32).toString('base64url'),
    ADMIN_KEY,
    DEMO_DATA: 'false',
    LOG_LEVEL: 'warn',
    HOLD_TTL_S: '900',
    QUEUE_ACTIVE_IDLE_S: '1800',
    ...Object.fromEntries(['RATE_SIGNUP_PER_MIN', 'RATE_JOIN_PER_MIN', 'RATE_HOLD_PER_MIN'].map((k) => [k, '1000000'])),
    WEBHOOK_ALLOW_PRIVATE: 'true',
    // The endpoint that failed while its receiver was down waits until this benchmark retries it.
    WEBHOOK_RETRY_BASE_MS: '3600000',
    WEBHOOK_RETRY_MAX_MS: '3600000',
  })
  const db = new pg.Client({ connectionString: schema.url })
  await db.connect()
  if (variant === 'no outbox') await db.query(NO_EVENTS)
  const url = server.url
  if (variant === 'outbox + webhook *') {
    const { body } = await call(url, 'POST', '/v1/admin/webhooks', admin, { url: receiver.url(), events: ['*'] })
    receiver.secret = body.secret
  }
  const { body: concert } = await call(url, 'POST', '/v1/admin/concerts', admin, { title: variant, performer: 'P', venue: 'V' })
  const { body: schedule } = await call(url, 'POST', `/v1/admin/concerts/${concert.concertId}/schedules`, admin, {
    startsAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    sections: [{ name: 'Floor', rows: Math.ceil(FANS / 100), seatsPerRow: 100, price: PRICE }],
  })
  await call(url, 'PATCH', `/v1/admin/concerts/${concert.concertId}/queue`, admin, { paused: true })
  const tokens: { auth: Record<string, string>; token: string }[] = []
  await inParallel(Array.from({ length: FANS }), 64, async (_, n) => {
    const { body: user } = await call(url, 'POST', '/v1/users')
    const auth = { authorization: `Bearer ${user.accessToken}` }
    await call(url, 'POST', '/v1/me/balance/charges', auth, { amount: PRICE })
    const { body: entry } = await call(url, 'POST', `/v1/concerts/${concert.concertId}/queue`, auth)
    tokens[n] = { auth, token: entry.token }
  })
  await call(url, 'PATCH', `/v1/admin/concerts/${concert.concertId}/queue`, admin, {
    paused: false,
    strategy: 'rate',
    admitPerTick: 100_000,
    maxActive: 100_000,
    tickMs: 100,
  })
  for (let attempt = 0; ; attempt++) {
    const { body } = await call(url, 'GET', `/v1/admin/concerts/${concert.concertId}/queue`, admin)
    if (body.active >= FANS) break
    if (attempt > 600) throw new Error(`admission stalled: ${JSON.stringify(body)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  // Everyone is in: the admission tick goes back to once a second, so its work does not weigh on the turns.
  await call(url, 'PATCH', `/v1/admin/concerts/${concert.concertId}/queue`, admin, { tickMs: 1000 })
  const fans: Service['fans'] = []
  await inParallel(tokens, 64, async ({ auth, token }, n) => {
    const headers = { ...auth, 'queue-token': token }
    const res = await call(url, 'POST', '/v1/reservations', headers, { scheduleId: schedule.scheduleId, seatNo: n + 1 })
    if (res.status !== 201) throw new Error(`hold: ${res.status} ${JSON.stringify(res.body)}`)
    fans[n] = { headers, reservationId: res.body.reservationId }
  })
  return {
    variant,
    url,
    pid: server.child.pid!,
    appName,
    db,
    fans,
    async stop() {
      await db.end()
      await server.stop()
      await schema.drop()
    },
  }
}

const count = async (db: pg.Client, query: string) => Number((await db.query(query)).rows[0].n)

/** Whatever the outbox of this service still has to do: events not numbered, deliveries pending. */
const outboxWork = (s: Service) =>
  count(
    s.db,
    `select (select count(*) from events where sequence is null) + (select count(*) from webhook_deliveries where status = 'pending') as n`,
  )

async function drained(s: Service, limitMs = 120_000): Promise<number> {
  const started = performance.now()
  while ((await outboxWork(s)) > 0) {
    if (performance.now() - started > limitMs) throw new Error(`${s.variant}: the outbox did not drain within ${limitMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
  return (performance.now() - started) / 1000
}

/**
 * The relay's rate: the receiver comes back, one failed delivery is retried, and the endpoint's
 * whole backlog is delivered.
 */
async function relayRate(s: Service, receiver: WebhookReceiver) {
  // The endpoint has failed (its receiver down) and backs off; everything since is pending.
  for (let attempt = 0; (await count(s.db, 'select coalesce(max(failures), 0) as n from webhooks')) === 0; attempt++) {
    if (attempt > 200) throw new Error('the endpoint never failed while its receiver was down')
    await new Promise((r) => setTimeout(r, 50))
  }
  while ((await count(s.db, 'select count(*) as n from events where sequence is null')) > 0) await new Promise((r) => setTimeout(r, 50))
  const backlog = await count(s.db, `select count(*) as n from webhook_deliveries where status = 'pending'`)
  const { rows } = await s.db.query(`select webhook_id, event_id from webhook_deliveries where attempts > 0 limit 1`)
  await receiver.listen()
  const started = performance.now()
  const retried = await call(s.url, 'POST', `/v1/admin/webhooks/${rows[0].webhook_id}/deliveries/${rows[0].event_id}/retry`, admin)
  if (retried.status !== 202) throw new Error(`retry: ${retried.status} ${JSON.stringify(retried.body)}`)
  await drained(s)
  const seconds = (performance.now() - started) / 1000
  return { events: backlog, seconds: Number(seconds.toFixed(2)), perSecond: Math.round(backlog / seconds) }
}

/** The CPU time each of the service's database backends has used so far (none when PostgreSQL is on another machine). */
async function backendsCpuUs(s: Service): Promise<Map<number, number>> {
  const { rows } = await s.db.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [s.appName])
  const used = new Map<number, number>()
  for (const { pid } of rows) {
    try {
      used.set(pid, cpuTimeUs(pid))
    } catch {
      // Not a process of this machine, or gone already.
    }
  }
  return used
}

/** One turn: a service's payments, with its own CPU and its database backends' per payment. */
interface Turn extends Row {
  dbCpuUs: number | undefined
  /** After the last payment, the seconds until its events were all numbered and delivered. */
  drainS: number
}

/**
 * A turn's CPU is counted from its first payment until its outbox has drained, and at least this
 * long after its last payment in every variant alike, so the relay's work the payments caused
 * counts, and so do the same idle loops whatever the variant.
 */
const TURN_TAIL_MS = 1000

/** Pays a fan's hold on this service; whether it was paid. */
const payment = (s: Service) => async (fan: Service['fans'][number]) => {
  const headers = { ...fan.headers, 'idempotency-key': `pay-${fan.reservationId}` }
  const res = await call(s.url, 'POST', '/v1/payments', headers, { reservationId: fan.reservationId })
  return res.status === 201
}

/** Payments not counted, and the outbox drained after them. */
async function warm(s: Service, fans: Service['fans']): Promise<void> {
  await inParallel(fans, CONNECTIONS, async (fan) => void (await payment(s)(fan)))
  await drained(s)
}

async function turn(s: Service, fans: Service['fans']): Promise<Turn> {
  const pay = payment(s)
  const serviceBefore = cpuTimeUs(s.pid)
  const backendsBefore = await backendsCpuUs(s)
  const row = await driveEach({ url: s.url, pid: s.pid }, s.variant, 'postgres', fans, CONNECTIONS, pay)
  const paidAt = performance.now()
  const drainS = await drained(s)
  const tail = TURN_TAIL_MS - (performance.now() - paidAt)
  if (tail > 0) await new Promise((r) => setTimeout(r, tail))
  const serviceUs = cpuTimeUs(s.pid) - serviceBefore
  const backendsAfter = await backendsCpuUs(s)
  const backendsUs = [...backendsAfter].reduce((sum, [pid, us]) => sum + us - (backendsBefore.get(pid) ?? 0), 0)
  return {
    ...row,
    cpuUs: Math.round(serviceUs / fans.length),
    dbCpuUs: backendsAfter.size > 0 ? Math.round(backendsUs / fans.length) : undefined,
    drainS,
  }
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const round3 = (x: number) => Number(x.toFixed(3))

interface VariantFigures {
  variant: Variant
  payments: number
  /** The median of the rounds' payments per second, and their lowest and highest. */
  paymentsPerS: number
  spread: [number, number]
  /** Each round's payments per second, in round order. */
  rounds: number[]
  /** Medians over the rounds. */
  p50: number
  p99: number
  errors: number
  /** The service process's CPU per payment, and its database backends' (median over the rounds). */
  cpuUs: number
  dbCpuUs: number | undefined
  /** Throughput and CPU (service and database) against the no-outbox turn of the same round: medians, and the throughput's spread. */
  ratio: number
  ratioSpread: [number, number]
  cpuRatio: number
  /** After the last payment of a turn, the seconds until its events were all numbered and delivered (the worst turn). */
  drainS: number
  /** payment.succeeded events the service wrote: 0 without the outbox, one per payment (warm-up included) with it. */
  paymentEvents: number
}

export async function benchEvents() {
  console.log(`stagedoor events — ${FANS} fans per service, ${ROUNDS} rounds, ${CONNECTIONS} payments in flight — ${machine()}`)
  const receiver = await WebhookReceiver.start()
  // Down while the fans are set up: their events pile up as the relay's backlog.
  await receiver.stop()
  const services: Service[] = []
  try {
    for (const variant of ['no outbox', 'outbox', 'outbox + webhook *'] as Variant[]) {
      console.log(`  setting up "${variant}"…`)
      services.push(await startService(variant, receiver))
    }
    const hooked = services[2]!
    const relay = await relayRate(hooked, receiver)
    console.log(`  relay: ${relay.events} deliveries in ${relay.seconds} s, ${relay.perSecond} events/s`)
    for (const s of services) await drained(s)

    // Each service's payment path warmed up first, in turns as measured ones are, not counted.
    const warmShare = Math.ceil(WARM_UP / 2)
    for (const [from, to] of [
      [0, warmShare],
      [warmShare, WARM_UP],
    ]) {
      for (const s of services) await turn(s, s.fans.slice(from, to))
    }

    const turns = new Map<Variant, Turn[]>(services.map((s) => [s.variant, []]))
    const share = Math.floor(PAID / ROUNDS)
    for (let round = 0; round < ROUNDS; round++) {
      const order = services.map((_, i) => services[(i + round) % services.length]!)
      for (const s of order) {
        const from = WARM_UP + round * (WARM_PER_TURN + share)
        await warm(s, s.fans.slice(from, from + WARM_PER_TURN))
        const fans = s.fans.slice(from + WARM_PER_TURN, round === ROUNDS - 1 ? FANS : from + WARM_PER_TURN + share)
        const t = await turn(s, fans)
        turns.get(s.variant)!.push(t)
        console.log(
          `  round ${round + 1}, ${s.variant}: ${t.rps} payments/s, CPU per payment ${t.cpuUs} µs service + ${t.dbCpuUs ?? '?'} µs database; drained ${t.drainS.toFixed(2)} s after`,
        )
      }
    }

    const baseline = turns.get('no outbox')!
    const cpuOf = (t: Turn) => (t.cpuUs ?? 0) + (t.dbCpuUs ?? 0)
    const figures: VariantFigures[] = []
    for (const s of services) {
      const ts = turns.get(s.variant)!
      const ratios = ts.map((t, i) => t.rps / baseline[i]!.rps)
      const dbCpu = ts.map((t) => t.dbCpuUs).filter((x) => x !== undefined)
      figures.push({
        variant: s.variant,
        payments: PAID,
        paymentsPerS: Math.round(median(ts.map((t) => t.rps))),
        spread: [Math.min(...ts.map((t) => t.rps)), Math.max(...ts.map((t) => t.rps))],
        rounds: ts.map((t) => t.rps),
        p50: Math.round(median(ts.map((t) => t.p50))),
        p99: Math.round(median(ts.map((t) => t.p99))),
        errors: ts.reduce((sum, t) => sum + t.errors, 0),
        cpuUs: Math.round(median(ts.map((t) => t.cpuUs ?? 0))),
        dbCpuUs: dbCpu.length === ts.length ? Math.round(median(dbCpu)) : undefined,
        ratio: round3(median(ratios)),
        ratioSpread: [round3(Math.min(...ratios)), round3(Math.max(...ratios))],
        cpuRatio: round3(median(ts.map((t, i) => cpuOf(t) / cpuOf(baseline[i]!)))),
        drainS: Number(Math.max(...ts.map((t) => t.drainS)).toFixed(2)),
        paymentEvents: await count(s.db, `select count(*) as n from events where type = 'payment.succeeded'`),
      })
    }
    const summary = {
      fans: PAID,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      variants: figures,
      /** The share of a payment's throughput, and of its CPU, the outbox costs, without and with the webhook (medians of the paired rounds). */
      outboxCost: round3(1 - figures[1]!.ratio),
      outboxCpuCost: round3(figures[1]!.cpuRatio - 1),
      webhookCost: round3(1 - figures[2]!.ratio),
      webhookCpuCost: round3(figures[2]!.cpuRatio - 1),
      relay,
      receivedForged: receiver.forged.length,
    }
    console.log(`\n${eventsTable(summary)}\n`)
    writeSummary('events', summary)
  } finally {
    for (const s of services) await s.stop()
    await receiver.stop()
    await closeClients()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await benchEvents()
