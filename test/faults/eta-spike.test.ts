import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, closeClients, inParallel, percentile } from '../../bench/lib.js'
import { systemClock } from '../../src/platform/clock.js'
import { TokenSigner } from '../../src/platform/signer.js'
import { AccessTokens } from '../../src/users/access-tokens.js'
import { admin, http, retryingUnavailable, testSecrets } from '../support/app.js'
import { type ServerProcess, startServer } from '../support/process.js'
import { startRedisServer } from '../support/redis-server.js'
import { freshPostgresSchema } from '../support/stores.js'

/**
 * The honest ETA (SPEC 13), tried as fans would: FANS fans crowd into one concert's line through
 * two processes of one deployment as its sale opens, admission runs at RATE a second, each fan
 * polls when it is told to (never waiting longer than LONGEST_POLL_WAIT_MS, as in the issue's
 * spike) until it is admitted, and halfway through the operator slows admission to SLOWER_RATE.
 * It runs on both queue stores of a deployment of processes: Redis, and PostgreSQL alone, where
 * each process places polls in its own copy of the line and the other process's ticks admit from
 * the front of it meanwhile (db-store.ts: each poll reads the line's front afresh).
 *
 * The crowd gathers in the pre-queue for GATHER_MS before the sale opens, so the line is long
 * from the first tick on (on a machine too busy to take every join by then, the rest join the
 * moving line). In the pre-queue a fan has no place yet (the order is drawn at the opening) and its
 * ETA counts to the opening (SPEC 3): the promise measured is the first ETA that places the fan.
 *
 * When a fan was admitted is read from its first ACTIVE answer, not guessed from its polls (a
 * second or more apart near the front): `activeUntil` of an admission nobody has used yet is the
 * admission time plus the deployment's idle limit. When an ETA was made is less sure: somewhere
 * between the fan's question and the answer, a round trip that takes a second or more on a small
 * machine under a spike. An ETA counts as kept if it holds as made at some moment of its round
 * trip; the figures printed date each ETA from the middle of it.
 */
const FANS = 3000
const RATE = 300
const SLOWER_RATE = 150
const GATHER_MS = 10_000
const LONGEST_POLL_WAIT_MS = 2000
/** Joins in flight at once: as fast as two processes on a small machine take them. */
const JOINS_IN_FLIGHT = 128

interface Answer {
  /** Epoch ms, as the server's times. */
  sentAt: number
  answeredAt: number
  status: string
  position: number | null
  etaSeconds: number | null
  activeUntil: string | null
}

interface SpikeFan {
  auth: Record<string, string>
  token?: string
  answers: Answer[]
}

interface Spike {
  fans: SpikeFan[]
  /** How long an admission lasts unused: `activeUntil` less this is when it was made. */
  admissionMs: number
  /** When admission opened. */
  opensAt: number
  /** When the operator sent the change of rate, and when it was answered. */
  changeSentAt: number
  changedAt: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Where the fan's first ACTIVE answer is among its answers (its last one). */
const firstActive = (fan: SpikeFan) => fan.answers.findIndex((a) => a.status === 'ACTIVE')

const admittedAt = (fan: SpikeFan, admissionMs: number) => Date.parse(fan.answers[firstActive(fan)]!.activeUntil!) - admissionMs

/** The first answer sent at or after `since` that placed the fan in line, and so promised an admission time. */
const firstPlaceSince = (fan: SpikeFan, since = Number.NEGATIVE_INFINITY) =>
  fan.answers.find((a) => a.sentAt >= since && a.status === 'WAITING' && a.position !== null)

/** When the server made an answer's ETA, as near as the fan can tell. */
const madeAt = (answer: Answer) => (answer.sentAt + answer.answeredAt) / 2

/**
 * Admission minus the time an answer promised, in seconds (negative: admitted before it): from the
 * middle of the answer's round trip, and from the moment of it that makes the error least.
 */
function promiseError(answer: Answer, admitted: number): { mid: number; least: number } {
  const eta = answer.etaSeconds! * 1000
  const ifMadeLast = (admitted - answer.answeredAt - eta) / 1000
  const ifMadeFirst = (admitted - answer.sentAt - eta) / 1000
  return { mid: (ifMadeLast + ifMadeFirst) / 2, least: ifMadeLast > 0 ? ifMadeLast : Math.min(0, ifMadeFirst) }
}

/**
 * How the first places told before `before` compare with the line: a fan's place was at least the
 * fans admitted after the answer and before the fan, and at most those admitted after the question
 * and with it. Above: the place counted fans already gone (a stale view of the line, which makes
 * the ETA too late); below: it missed fans ahead (or fans whose join had not landed yet did land
 * ahead: a pre-queue join answered after the opening, of which there are `late`).
 */
function placesAgainstLine({ fans, admissionMs, opensAt }: Spike, before: number): string {
  const late = fans.filter((fan) => fan.answers[0]!.position === null && fan.answers[0]!.answeredAt > opensAt).length
  const admissions = fans.map((fan) => admittedAt(fan, admissionMs))
  const admittedIn = (from: number, to: number, withTo: boolean) => admissions.filter((t) => t > from && (withTo ? t <= to : t < to)).length
  const off: number[] = []
  let within = 0
  for (const fan of fans) {
    const told = firstPlaceSince(fan)
    const at = admittedAt(fan, admissionMs)
    if (!told || at > before) continue
    const least = admittedIn(told.answeredAt, at, false) + 1
    const most = admittedIn(told.sentAt, at, true)
    if (told.position! > most) off.push(told.position! - most)
    else if (told.position! < least) off.push(told.position! - least)
    else within++
  }
  const [above, below] = [off.filter((d) => d > 0), off.filter((d) => d < 0)]
  return `${within} within the line, ${above.length} above it (by ${spread(above)}), ${below.length} below it (by ${spread(below)}; ${late} pre-queue joins answered after the opening)`
}

const spread = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const at = (p: number) => percentile(sorted, p).toFixed(2)
  return `n=${sorted.length} p10=${at(10)} p50=${at(50)} p90=${at(90)}`
}

/** Two processes of one deployment; without Redis, each answers positions from its own copy of the line (db-store.ts). */
const deployments = [
  { store: 'Redis', redis: true },
  { store: 'PostgreSQL', redis: false },
]

describe.each(deployments)('the ETA in a spike of 3,000 fans through two processes, the waiting room in $store', ({ redis }) => {
  let servers: ServerProcess[] = []
  let spike: Spike
  const url = (i: number) => servers[i % servers.length]!.url
  // The fans' accounts, as sign-up issues them, made before the sale.
  const accessTokens = new AccessTokens(new TokenSigner(testSecrets.AUTH_SECRET, systemClock))
  const auths = Array.from({ length: FANS }, (_, i) => ({ authorization: `Bearer ${accessTokens.issue(`usr_fan_${i}`)}` }))

  beforeAll(async () => {
    const env: Record<string, string> = { ...testSecrets, DEMO_DATA: 'false', DATABASE_URL: await freshPostgresSchema() }
    // A Redis of the test's own: processes of other deployments on a shared Redis would tick this line too.
    if (redis) env.REDIS_URL = (await startRedisServer()).url
    const first = await startServer(env)
    servers = [first, await startServer(env)]
    spike = await runSpike()
  }, 120_000)
  afterAll(async () => {
    await closeClients()
    await Promise.all(servers.map((s) => s.stop()))
  })

  /** What the processes logged at level error or above, to show why a request failed. */
  const serverErrors = () =>
    servers
      .flatMap((s) => s.output().split('\n'))
      .filter((line) => /"level":(50|60)/.test(line))
      .join('\n')

  /**
   * A concert with a seat for every fan whose line opens now and whose sale opens GATHER_MS from
   * now, admitting RATE a second, as every process knows before anyone joins.
   */
  async function concertOnSale(): Promise<{ concertId: string; opensAt: number; admissionMs: number }> {
    const opensAt = Date.now() + GATHER_MS
    const opening = { queueOpensAt: new Date().toISOString(), saleOpensAt: new Date(opensAt).toISOString() }
    const { body } = await http(url(0), 'POST', '/v1/admin/concerts', {
      headers: admin,
      body: { title: 'T', performer: 'P', venue: 'V', ...opening },
    })
    const concertId = body.concertId as string
    const schedule = await http(url(0), 'POST', `/v1/admin/concerts/${concertId}/schedules`, {
      headers: admin,
      body: {
        startsAt: new Date(Date.now() + 86_400_000).toISOString(),
        sections: [{ name: 'A', rows: FANS / 100, seatsPerRow: 100, price: 1000 }],
      },
    })
    expect(schedule.status).toBe(201)
    await setRate(concertId, RATE)
    const configOf = async (i: number) =>
      (await http(url(i), 'GET', `/v1/admin/concerts/${concertId}/queue`, { headers: admin })).body.config
    for (let i = 0; i < servers.length; i++) {
      while ((await configOf(i)).admitPerTick !== RATE) await sleep(50)
    }
    const { activeIdleS, activeMaxS } = await configOf(0)
    return { concertId, opensAt, admissionMs: Math.min(activeIdleS, activeMaxS) * 1000 }
  }

  /** The operator sets the rate, through the first process: the other learns of it by itself. */
  async function setRate(concertId: string, perSecond: number) {
    const body = { strategy: 'rate', admitPerTick: perSecond, tickMs: 1000 }
    const res = await http(url(0), 'PATCH', `/v1/admin/concerts/${concertId}/queue`, { headers: admin, body })
    expect(res.status).toBe(200)
  }

  /**
   * Every fan joins, JOINS_IN_FLIGHT at a time, then polls through either process (as a load
   * balancer sends it) until admitted; FANS / 2 / RATE seconds after the sale opens, halfway
   * through the line, the operator changes the rate to SLOWER_RATE.
   */
  async function runSpike(): Promise<Spike> {
    const { concertId, opensAt, admissionMs } = await concertOnSale()
    const fans: SpikeFan[] = auths.map((auth) => ({ auth, answers: [] }))
    // The first thing to go wrong: every fan stops, and the spike fails with it.
    let failure: unknown
    const fail = (err: unknown) => {
      failure ??= err
    }

    const ask = async (fan: SpikeFan, send: () => Promise<{ status: number; body: any }>) => {
      const sentAt = Date.now()
      // As a browser does for a request safe to repeat: again when a kept-alive connection closes under it.
      const { status, body } = await retryingUnavailable(() => send().catch(() => send()))
      if (status !== 200 && status !== 201) {
        throw new Error(`the queue answered ${status} ${JSON.stringify(body)}; the processes logged:\n${serverErrors()}`)
      }
      const { position, etaSeconds, activeUntil } = body
      fan.answers.push({ sentAt, answeredAt: Date.now(), status: body.status, position, etaSeconds, activeUntil })
      return body as { token: string; status: string; pollAfterMs: number }
    }
    const pollUntilAdmitted = async (fan: SpikeFan, i: number, answer: { status: string; pollAfterMs: number }) => {
      for (let n = 1; answer.status === 'WAITING' && failure === undefined; n++) {
        await sleep(Math.min(answer.pollAfterMs, LONGEST_POLL_WAIT_MS))
        answer = await ask(fan, () => call(url(i + n), 'GET', '/v1/queue/status', { 'queue-token': fan.token! }))
      }
      if (answer.status !== 'ACTIVE') fail(new Error(`a fan was told ${answer.status}`))
    }
    const change = sleep(opensAt + ((FANS / 2) * 1000) / RATE - Date.now()).then(async () => {
      const changeSentAt = Date.now()
      await setRate(concertId, SLOWER_RATE)
      return { changeSentAt, changedAt: Date.now() }
    })

    const following: Promise<void>[] = []
    await inParallel(fans, JOINS_IN_FLIGHT, async (fan, i) => {
      if (failure !== undefined) return
      try {
        const joined = await ask(fan, () => call(url(i), 'POST', `/v1/concerts/${concertId}/queue`, fan.auth))
        fan.token = joined.token
        following.push(pollUntilAdmitted(fan, i, joined).catch(fail))
      } catch (err) {
        fail(err)
      }
    })
    await Promise.all(following)
    if (failure !== undefined) throw failure
    return { fans, admissionMs, opensAt, ...(await change) }
  }

  it('when a fan is admitted, then the time its activeUntil gives lies between its last WAITING poll and its first ACTIVE one', () => {
    const { fans, admissionMs } = spike
    // An admission is stamped when its tick began and is seen once the tick's step has run: allow the step a second.
    const outside = fans.filter((fan) => {
      const at = admittedAt(fan, admissionMs)
      return at < fan.answers[firstActive(fan) - 1]!.sentAt - 1000 || at > fan.answers[firstActive(fan)]!.answeredAt
    })
    expect(outside).toEqual([])
  })

  it('when 3,000 fans crowd in at a fixed rate, then 90% are admitted within 2 s of the first ETA that placed them', () => {
    const { fans, admissionMs, changeSentAt } = spike
    // Those whose place, at RATE a tick a second, comes up at least a tick before the operator's
    // change (chosen by place, not by what they were told, which is what is on trial).
    const errors = fans.flatMap((fan) => {
      const told = firstPlaceSince(fan)
      if (!told || madeAt(told) + (Math.ceil(told.position! / RATE) + 1) * 1000 > changeSentAt) return []
      return [promiseError(told, admittedAt(fan, admissionMs))]
    })
    const kept = errors.filter((e) => Math.abs(e.least) <= 2).length / errors.length
    console.log(
      `${RATE}/s: admitted minus the first ETA, in s: ${spread(errors.map((e) => e.mid))}, ${(100 * kept).toFixed(1)}% within 2 s; ` +
        `first places: ${placesAgainstLine(spike, changeSentAt)}`,
    )
    expect(errors.length).toBeGreaterThan(FANS / 10)
    expect(kept).toBeGreaterThanOrEqual(0.9)
  })

  it('when the operator halves the rate halfway, then 90% of those still waiting are admitted within 10% (or 2 s) of the first ETA they saw after it', () => {
    const { fans, admissionMs, changedAt } = spike
    // Told after the change, while still waiting: the error, and the wait from then to admission.
    const told = fans.flatMap((fan) => {
      const answer = firstPlaceSince(fan, changedAt)
      if (!answer) return []
      const admitted = admittedAt(fan, admissionMs)
      return [{ ...promiseError(answer, admitted), waitS: (admitted - madeAt(answer)) / 1000 }]
    })
    const errors = told.map((t) => t.mid)
    const relative = told.map((t) => t.mid / t.waitS)
    // Whole seconds of ETA, whole ticks of admission, and up to a tick for the change to reach every process (SPEC 3): 2 s at least.
    const kept = told.filter((t) => Math.abs(t.least) <= Math.max(0.1 * t.waitS, 2)).length / told.length
    console.log(
      `${RATE}/s → ${SLOWER_RATE}/s: admitted minus the first ETA after it, in s: ${spread(errors)}; over the wait: ${spread(relative)}; ` +
        `${(100 * kept).toFixed(1)}% within 10% or 2 s`,
    )
    expect(told.length).toBeGreaterThan(FANS / 10)
    expect(kept).toBeGreaterThanOrEqual(0.9)
  })
})
