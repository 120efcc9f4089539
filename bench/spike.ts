/**
 * `npm run bench:spike`: the on-sale spike. SPIKE_FANS fans (50,000) join one concert within
 * SPIKE_JOIN_S seconds (10), arriving at an even pace, and each polls its status at the
 * `pollAfterMs` it is told until it is admitted. SPIKE_PROCESSES service processes (2) share one
 * database and Redis, and every request goes to the next of them in turn, as a load balancer
 * spreads them. The venue has a seat for every fan, so admission is bounded by its rate alone:
 * SPIKE_ADMIT_PER_S (the rate strategy, one tick a second). Prints join and poll latencies, the
 * admissions per second the operators' figures show against the configured rate, and errors
 * (which must be 0).
 *
 *   BENCH_REDIS_URL (local Redis; empty: the waiting room in the database)
 *   BENCH_DATABASE_URL (local test database, fresh schema)
 *   SPIKE_FANS (50000)  SPIKE_JOIN_S (10)  SPIKE_ADMIT_PER_S (2500)  SPIKE_PROCESSES (2)
 */
import { randomBytes } from 'node:crypto'
import { systemClock } from '../src/platform/clock.js'
import { TokenSigner } from '../src/platform/signer.js'
import { AccessTokens } from '../src/users/access-tokens.js'
import { call, closeClients, freshSchema, machine, percentile, startServer, writeSummary } from './lib.js'
import { spikeTable } from './tables.js'

const FANS = Number(process.env.SPIKE_FANS ?? 50_000)
const JOIN_S = Number(process.env.SPIKE_JOIN_S ?? 10)
const ADMIT_PER_S = Number(process.env.SPIKE_ADMIT_PER_S ?? 2500)
const PROCESSES = Number(process.env.SPIKE_PROCESSES ?? 2)
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const AUTH_SECRET = randomBytes(32).toString('base64url')
const ADMIN_KEY = randomBytes(16).toString('hex')

interface Fan {
  bearer: string
  token?: string
  admittedAt?: number
}

/** A call whose failure to connect counts as an answer (status 0), so every fan is accounted for. */
const attempt = (url: string, method: string, path: string, headers: Record<string, string>) =>
  call(url, method, path, headers).catch((err: Error) => ({ status: 0, body: err.message }))

async function main() {
  const store = REDIS_URL ? 'postgres+redis' : 'postgres'
  console.log(
    `stagedoor spike — ${FANS} fans within ${JOIN_S} s, admission ${ADMIT_PER_S}/s, ${store}, ${PROCESSES} process(es) — ${machine()}`,
  )
  const schema = await freshSchema()
  const env = {
    DATABASE_URL: schema.url,
    ...(REDIS_URL ? { REDIS_URL } : {}),
    AUTH_SECRET,
    ADMIN_KEY,
    DEMO_DATA: 'false',
    LOG_LEVEL: 'warn',
    QUEUE_ACTIVE_IDLE_S: '3600',
    QUEUE_ACTIVE_MAX_S: '7200',
    // Production limits, set high enough for one load generator's address.
    RATE_JOIN_PER_MIN: '1000000',
  }
  const servers = [await startServer(env)]
  for (let n = 1; n < PROCESSES; n++) servers.push(await startServer(env))
  const url = servers[0]!.url
  /** The next process in turn, as a load balancer spreads requests. */
  let turn = 0
  const next = () => servers[turn++ % servers.length]!.url
  const admin = { 'x-admin-key': ADMIN_KEY }
  const joinMs: number[] = []
  const pollMs: number[] = []
  const errors: string[] = []
  const figures: { at: number; active: number; waiting: number }[] = []
  try {
    const { body: concert } = await call(url, 'POST', '/v1/admin/concerts', admin, { title: 'Spike', performer: 'P', venue: 'V' })
    const startsAt = new Date(Date.now() + 30 * 86_400_000).toISOString()
    await call(url, 'POST', `/v1/admin/concerts/${concert.concertId}/schedules`, admin, {
      startsAt,
      sections: [{ name: 'A', rows: Math.ceil(FANS / 100), seatsPerRow: 100, price: 50_000 }],
    })
    await call(url, 'PATCH', `/v1/admin/concerts/${concert.concertId}/queue`, admin, {
      strategy: 'rate',
      admitPerTick: ADMIT_PER_S,
      tickMs: 1000,
    })
    const signer = new AccessTokens(new TokenSigner(AUTH_SECRET, systemClock))
    const fans: Fan[] = Array.from({ length: FANS }, (_, n) => ({ bearer: `Bearer ${signer.issue(`usr_spike_${n}`)}` }))

    const started = performance.now()
    const elapsed = () => performance.now() - started
    /** Fans admitted or failed: the run ends when every fan is one or the other. */
    let settled = 0
    let done!: () => void
    const allSettled = new Promise<void>((resolve) => {
      done = resolve
    })
    const admit = (fan: Fan) => {
      fan.admittedAt = elapsed()
      if (++settled === FANS) done()
    }
    const fail = (what: string) => {
      errors.push(what)
      if (errors.length === 1) console.log(`  first error: ${what}`)
      if (++settled === FANS) done()
    }
    const poll = async (fan: Fan) => {
      const at = performance.now()
      const res = await attempt(next(), 'GET', '/v1/queue/status', { 'queue-token': fan.token! })
      pollMs.push(performance.now() - at)
      if (res.status !== 200) return fail(`poll ${res.status} ${JSON.stringify(res.body)}`)
      if (res.body.status === 'ACTIVE') return admit(fan)
      if (res.body.status !== 'WAITING') return fail(`poll answered ${res.body.status}`)
      setTimeout(() => void poll(fan), res.body.pollAfterMs)
    }
    const join = async (fan: Fan) => {
      const at = performance.now()
      const res = await attempt(next(), 'POST', `/v1/concerts/${concert.concertId}/queue`, { authorization: fan.bearer })
      joinMs.push(performance.now() - at)
      if (res.status !== 201) return fail(`join ${res.status} ${JSON.stringify(res.body)}`)
      fan.token = res.body.token
      if (res.body.status === 'ACTIVE') return admit(fan)
      setTimeout(() => void poll(fan), res.body.pollAfterMs)
    }
    // Arrivals at an even pace: every 10 ms, the fans due by then set off.
    let arrived = 0
    const arrivals = setInterval(() => {
      const due = Math.min(FANS, Math.floor((elapsed() / (JOIN_S * 1000)) * FANS))
      while (arrived < due) void join(fans[arrived++]!)
      if (arrived >= FANS) clearInterval(arrivals)
    }, 10)
    // The operators' view once a second: how many are active and waiting.
    const sampler = setInterval(async () => {
      const { body } = await call(url, 'GET', `/v1/admin/concerts/${concert.concertId}/queue`, admin)
      figures.push({ at: elapsed(), active: body.active, waiting: body.waiting })
    }, 1000)
    await allSettled
    clearInterval(sampler)
    const wallS = elapsed() / 1000

    // Admissions per second while a line was waiting: from the first sample with anyone active
    // to the first sample with no one left waiting.
    const first = figures.find((f) => f.active > 0)
    const last = figures.find((f) => first && f.at > first.at && f.waiting === 0) ?? figures.at(-1)
    const admittedPerS = first && last && last.at > first.at ? ((last.active - first.active) * 1000) / (last.at - first.at) : 0
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
    const joins = sorted(joinMs)
    const polls = sorted(pollMs)
    const summary = {
      store,
      processes: PROCESSES,
      fans: FANS,
      joinWindowS: JOIN_S,
      joinsPerS: Number((FANS / JOIN_S).toFixed(0)),
      joinP50Ms: Number(percentile(joins, 50).toFixed(1)),
      joinP99Ms: Number(percentile(joins, 99).toFixed(1)),
      polls: polls.length,
      pollsPerFan: Number((polls.length / FANS).toFixed(1)),
      pollP50Ms: Number(percentile(polls, 50).toFixed(1)),
      pollP99Ms: Number(percentile(polls, 99).toFixed(1)),
      configuredAdmitPerS: ADMIT_PER_S,
      admittedPerS: Math.round(admittedPerS),
      admittedToConfigured: Number((admittedPerS / ADMIT_PER_S).toFixed(2)),
      lastAdmittedAtS: Number((Math.max(...fans.map((f) => f.admittedAt ?? 0)) / 1000).toFixed(1)),
      wallS: Number(wallS.toFixed(1)),
      errors: errors.length,
    }
    console.log(JSON.stringify(summary, null, 2))
    writeSummary('spike', summary)
    console.log(`\n${spikeTable(summary)}\n`)
    if (errors.length > 0) process.exitCode = 1
  } finally {
    await closeClients()
    await Promise.all(servers.map((s) => s.stop()))
    await schema.drop()
  }
}

await main()
