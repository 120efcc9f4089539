/**
 * `npm run bench:scale`: the measured scale model of the waiting room (docs/scaling.md). Every key
 * of one concert's line carries the hash tag `{concertId}`, so the whole line lives on one Redis
 * shard whatever the cluster's size. This measures, on a Redis of its own:
 *
 *  1. visit: what a fan's whole visit costs Redis (INFO commandstats and INFO cpu, read before and
 *     after each step) and the service process: a small real sale through a real process — join,
 *     polls at the pollAfterMs told until admitted, the gated reads, a hold, the payment (which
 *     ends the entry);
 *  2. shard: the ceiling of one shard for one concert: the real join and status scripts (through
 *     RedisQueueStore, as a service runs them) driven from several client processes
 *     (bench/scale-client.ts), with Redis's CPU; the tick's cost per fan admitted; and the relief
 *     (src/queue/relief.ts): each client's copy of the line, its polls with the relief, and what a
 *     heartbeat and a tick's read of the counts cost;
 *  3. polls: the polls a second a line of N fans sends under the real policy at an admission rate,
 *     from the formula (bench/scale-model.ts), checked by a time-compressed simulation: the app in
 *     this process on a clock moved by hand, a line scaled down with its rate, fans polling at
 *     exactly the pollAfterMs they are told;
 *  4. processes: a status-poll and join mix driven at one, then two, service processes on one Redis;
 *
 * then computes from them what a sale of SCALE_FANS fans for one concert admitted at
 * SCALE_ADMIT_PER_S needs, and where it breaks first. A run of every part writes
 * bench/results/scale.json and renews docs/scaling.md; a partial run prints its tables only.
 *
 *   SCALE_PARTS=visit,shard,polls,processes      which parts to run (default: all)
 *   BENCH_REDIS_URL   default: a private redis-server, so every command and CPU second counted is this bench's
 *   BENCH_DATABASE_URL                           local test database, fresh schemas
 *   SCALE_VISIT_FANS (400)
 *   SCALE_CLIENTS (3)  SCALE_IN_FLIGHT (8,128: calls in flight per client)  SCALE_SHARD_S (8)
 *   SCALE_SIM_LINES (10000,100000,250000,500000,1000000)  SCALE_SIM_SCALE (100)
 *   SCALE_SIM_WARM_S (40)  SCALE_SIM_WINDOW_S (40)
 *   BENCH_DURATION (8)  BENCH_CONNECTIONS (50 per process)  SCALE_POLLERS (10000)  SCALE_ROUNDS (3)
 *   SCALE_JOIN_EVERY (10)
 *   SCALE_FANS (1000000)  SCALE_ADMIT_PER_S (2000)  SCALE_JOIN_WINDOW_S (60)  SCALE_PREQUEUE_S (1800)  SCALE_TARGET (0.7)
 */
import { type ChildProcess, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { systemClock } from '../src/platform/clock.js'
import type { App } from '../src/platform/http/types.js'
import { connectRedis } from '../src/platform/redis/client.js'
import { TokenSigner } from '../src/platform/signer.js'
import { RedisQueueStore } from '../src/queue/redis-store.js'
import { BEATS_PER_RUN, NEAR_FRONT_S } from '../src/queue/relief.js'
import type { QueueSettings } from '../src/queue/settings.js'
import { AccessTokens } from '../src/users/access-tokens.js'
import { ManualClock } from '../test/support/clock.js'
import {
  CONNECTIONS,
  call,
  closeClients,
  cpuTimeUs,
  DATABASE_URL,
  DURATION_S,
  drive,
  forgetQueues,
  freshSchema,
  inParallel,
  machine,
  privateRedis,
  type Row,
  type ServerProcess,
  startServer,
  writeSummary,
} from './lib.js'
import type { ClientRun } from './scale-client.js'
import {
  fromCopyShare,
  type PollFigures,
  type PollRow,
  type ProcessFigures,
  type ProcessRow,
  plan,
  pollCapMs,
  pollsAlongTheLine,
  pollsSummedOverPositions,
  type ScaleMeasurements,
  type ShardFigures,
  type ShardRow,
  type VisitFigures,
  type VisitStep,
} from './scale-model.js'
import { planTable, pollTable, processTable, shardTable, updateScalingDoc, visitTable } from './tables.js'

const PARTS = new Set((process.env.SCALE_PARTS ?? 'visit,shard,polls,processes').split(','))
const numbers = (value: string) => value.split(',').map(Number)
const VISIT_FANS = Number(process.env.SCALE_VISIT_FANS ?? 400)
const CLIENTS = Number(process.env.SCALE_CLIENTS ?? 3)
const IN_FLIGHT = numbers(process.env.SCALE_IN_FLIGHT ?? '8,128')
const SHARD_S = Number(process.env.SCALE_SHARD_S ?? 8)
const SIM_LINES = numbers(process.env.SCALE_SIM_LINES ?? '10000,100000,250000,500000,1000000')
const SIM_SCALE = Number(process.env.SCALE_SIM_SCALE ?? 100)
const SIM_WARM_S = Number(process.env.SCALE_SIM_WARM_S ?? 40)
const SIM_WINDOW_S = Number(process.env.SCALE_SIM_WINDOW_S ?? 40)
const POLLERS = Number(process.env.SCALE_POLLERS ?? 10_000)
const ROUNDS = Number(process.env.SCALE_ROUNDS ?? 3)
const JOIN_EVERY = Number(process.env.SCALE_JOIN_EVERY ?? 10)
const PLAN = {
  fans: Number(process.env.SCALE_FANS ?? 1_000_000),
  admitPerS: Number(process.env.SCALE_ADMIT_PER_S ?? 2000),
  joinWindowS: Number(process.env.SCALE_JOIN_WINDOW_S ?? 60),
  prequeueS: Number(process.env.SCALE_PREQUEUE_S ?? 1800),
  target: Number(process.env.SCALE_TARGET ?? 0.7),
}

const AUTH_SECRET = randomBytes(32).toString('base64url')
const ADMIN_KEY = randomBytes(16).toString('hex')
const admin = { 'x-admin-key': ADMIN_KEY }
/** How long the visit watches one process with a live line and nobody asking: its background, subtracted from every step. */
const BACKGROUND_S = 4
/** The simulation's clock moves in steps of this: every poll due within one is sent together. */
const SIM_STEP_MS = 10
/** Ticks the shard's tick figure is the mean of. */
const TICKS = 10
/** The relief is measured on a line this many times the front's exact places at the least. */
const RELIEF_LINE_FRONTS = 4
/** Ticks with nothing to send that the cost of reading the counts is the mean of. */
const READINGS = 200

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const round1 = (x: number) => Math.round(x * 10) / 10
const round2 = (x: number) => Math.round(x * 100) / 100
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

/** The service as the on-sale runs it: limits counting, as in production, but never refusing one load generator's address. */
const serviceEnv = (databaseUrl: string, redisUrl: string): Record<string, string> => ({
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  AUTH_SECRET,
  ADMIN_KEY,
  DEMO_DATA: 'false',
  LOG_LEVEL: 'warn',
  RATE_SIGNUP_PER_MIN: '1000000',
  RATE_JOIN_PER_MIN: '1000000',
  RATE_HOLD_PER_MIN: '1000000',
})

// ---------------------------------------------------------------------------------------------
// Redis's own counters

/** What Redis has counted so far: CPU seconds (user + system) and calls per command. */
interface RedisSnapshot {
  at: number
  cpuUs: number
  calls: Map<string, number>
}

async function snapshot(redis: Redis): Promise<RedisSnapshot> {
  const [cpu, stats] = await Promise.all([redis.info('cpu'), redis.info('commandstats')])
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)![1])
  const calls = new Map<string, number>()
  for (const [, command, n] of stats.matchAll(/^cmdstat_(\S+):calls=(\d+)/gm)) calls.set(command!, Number(n))
  return { at: performance.now(), cpuUs: (field('used_cpu_user') + field('used_cpu_sys')) * 1e6, calls }
}

/** What Redis did between two snapshots; the snapshots' own INFO commands left out. */
interface RedisDelta {
  seconds: number
  cpuUs: number
  calls: Map<string, number>
}

function delta(before: RedisSnapshot, after: RedisSnapshot): RedisDelta {
  const calls = new Map<string, number>()
  for (const [command, n] of after.calls) {
    const d = n - (before.calls.get(command) ?? 0)
    if (d > 0 && command !== 'info') calls.set(command, d)
  }
  return { seconds: (after.at - before.at) / 1000, cpuUs: after.cpuUs - before.cpuUs, calls }
}

/** Script runs: EVALSHA, and EVAL where a connection first meets a script. */
const luaCalls = (calls: Map<string, number>) => (calls.get('evalsha') ?? 0) + (calls.get('eval') ?? 0)
const allCalls = (calls: Map<string, number>) => sum([...calls.values()])

// ---------------------------------------------------------------------------------------------
// 1. A fan's visit, counted by Redis

interface VisitFan {
  auth: Record<string, string>
  token?: string
  reservationId?: string
}

interface Sale {
  url: string
  concertId: string
  scheduleId: string
  fans: VisitFan[]
}

/** How often a request refused as overloaded (503, before it does any work) is sent again before the bench gives up. */
const OVERLOADED_RETRIES = 40

/**
 * A request that must answer `expected`; anything else stops the bench with what it said. A
 * process on a busy machine may refuse new work for a while (503 OVERLOADED): that is waited out.
 */
async function expect(url: string, expected: number, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  for (let attempt = 0; ; attempt++) {
    const res = await call(url, method, path, headers, body)
    if (res.status === expected) return res.body
    if (res.status !== 503 || attempt >= OVERLOADED_RETRIES) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`)
    await sleep(250)
  }
}

/** A concert with one date of enough seats, its line paused at `admitPerS`, and `fans` signed up with money to pay. */
async function newSale(url: string, fans: number, admitPerS: number): Promise<Sale> {
  const { concertId } = await expect(url, 201, 'POST', '/v1/admin/concerts', admin, { title: 'Scale', performer: 'P', venue: 'V' })
  const { scheduleId } = await expect(url, 201, 'POST', `/v1/admin/concerts/${concertId}/schedules`, admin, {
    startsAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    sections: [{ name: 'Floor', rows: Math.ceil(fans / 100) + 1, seatsPerRow: 100, price: 50_000 }],
  })
  await expect(url, 200, 'PATCH', `/v1/admin/concerts/${concertId}/queue`, admin, {
    paused: true,
    strategy: 'rate',
    admitPerTick: admitPerS,
    tickMs: 1000,
  })
  const people: VisitFan[] = []
  await inParallel(Array.from({ length: fans }), 32, async (_, n) => {
    const user = await expect(url, 201, 'POST', '/v1/users')
    const auth = { authorization: `Bearer ${user.accessToken}` }
    await expect(url, 200, 'POST', '/v1/me/balance/charges', auth, { amount: 100_000 })
    people[n] = { auth }
  })
  return { url, concertId, scheduleId, fans: people }
}

/** The steps of a visit, in order; each returns the requests it made. */
const visitSteps: { step: string; run(sale: Sale): Promise<number> }[] = [
  {
    step: 'join',
    run: async ({ url, concertId, fans }) => {
      await inParallel(fans, 32, async (fan) => {
        fan.token = (await expect(url, 201, 'POST', `/v1/concerts/${concertId}/queue`, fan.auth)).token
      })
      return fans.length
    },
  },
  {
    // Admission opens; every fan polls at once, then at the pollAfterMs told, until admitted.
    step: 'wait and admission',
    run: async ({ url, concertId, fans }) => {
      await expect(url, 200, 'PATCH', `/v1/admin/concerts/${concertId}/queue`, admin, { paused: false })
      let polls = 0
      await Promise.all(
        fans.map(async (fan) => {
          for (;;) {
            polls++
            const status = await expect(url, 200, 'GET', '/v1/queue/status', { 'queue-token': fan.token! })
            if (status.status === 'ACTIVE') return
            if (status.status !== 'WAITING') throw new Error(`a waiting fan was told ${status.status}`)
            await sleep(status.pollAfterMs)
          }
        }),
      )
      return polls
    },
  },
  {
    // What the fan page reads once admitted: the bookable dates, then the seat map.
    step: 'gated reads',
    run: async ({ url, concertId, scheduleId, fans }) => {
      await inParallel(fans, 32, async (fan) => {
        const headers = { ...fan.auth, 'queue-token': fan.token! }
        await expect(url, 200, 'GET', `/v1/concerts/${concertId}/schedules`, headers)
        await expect(url, 200, 'GET', `/v1/schedules/${scheduleId}/seats`, headers)
      })
      return 2 * fans.length
    },
  },
  {
    step: 'hold',
    run: async ({ url, scheduleId, fans }) => {
      await inParallel(fans, 32, async (fan, n) => {
        const headers = { ...fan.auth, 'queue-token': fan.token! }
        fan.reservationId = (await expect(url, 201, 'POST', '/v1/reservations', headers, { scheduleId, seatNo: n + 1 })).reservationId
      })
      return fans.length
    },
  },
  {
    // The payment ends the fan's entry (PAID): the end of the visit.
    step: 'payment',
    run: async ({ url, fans }) => {
      await inParallel(fans, 32, async (fan, n) => {
        const headers = { ...fan.auth, 'queue-token': fan.token!, 'idempotency-key': `scale-pay-${n}` }
        await expect(url, 201, 'POST', '/v1/payments', headers, { reservationId: fan.reservationId })
      })
      return fans.length
    },
  },
]

/** Redis's and the service's counters over one piece of work. */
async function counted(redis: Redis, pid: number, work: () => Promise<number>) {
  const before = await snapshot(redis)
  const serverBefore = cpuTimeUs(pid)
  const requests = await work()
  const serverUs = cpuTimeUs(pid) - serverBefore
  return { requests, redis: delta(before, await snapshot(redis)), serverUs }
}

async function measureVisit(redisUrl: string): Promise<VisitFigures> {
  const redis = new Redis(redisUrl)
  // Redis alone, before the process starts: its own housekeeping, which no process adds to.
  const idle = await counted(redis, process.pid, () => sleep(BACKGROUND_S * 1000).then(() => 0))
  const schema = await freshSchema()
  const server = await startServer(serviceEnv(schema.url, redisUrl)).catch(async (err) => {
    redis.disconnect()
    await schema.drop()
    throw err
  })
  const pid = server.child.pid!
  const admitPerS = Math.max(1, Math.round(VISIT_FANS / 5))
  const concerts: string[] = []
  try {
    // A warm-up visit on a concert of its own: every script loaded, every path run once.
    const warmUp = await newSale(server.url, 2, 100)
    concerts.push(warmUp.concertId)
    for (const { run } of visitSteps) await run(warmUp)

    const sale = await newSale(server.url, VISIT_FANS, admitPerS)
    concerts.push(sale.concertId)
    const [join, ...rest] = visitSteps
    const measured = [{ step: join!.step, ...(await counted(redis, pid, () => join!.run(sale))) }]
    // The line waits, paused, with nobody asking: what the process's own loops cost with it live.
    const quiet = await counted(redis, pid, () => sleep(BACKGROUND_S * 1000).then(() => 0))
    for (const { step, run } of rest) measured.push({ step, ...(await counted(redis, pid, () => run(sale))) })

    const perS = (x: number) => x / quiet.redis.seconds
    const background = {
      commandsPerS: perS(allCalls(quiet.redis.calls)),
      luaCallsPerS: perS(luaCalls(quiet.redis.calls)),
      redisCpuUsPerS: perS(quiet.redis.cpuUs),
      serverCpuUsPerS: perS(quiet.serverUs),
    }
    const fans = sale.fans.length
    const steps: VisitStep[] = measured.map(({ step, requests, redis: d, serverUs }) => {
      // Each step's figures less what the background did meanwhile, per fan.
      const less = (x: number, rate: number) => (x - rate * d.seconds) / fans
      const commands = new Map([...d.calls].map(([c, n]) => [c, less(n, perS(quiet.redis.calls.get(c) ?? 0))]))
      const top = [...commands]
        .filter(([, n]) => n >= 0.005)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6)
        .map(([c, n]) => `${c} ${n.toFixed(2)}`)
        .join(', ')
      return {
        step,
        requestsPerFan: round2(requests / fans),
        luaCallsPerFan: round2(less(luaCalls(d.calls), background.luaCallsPerS)),
        commandsPerFan: round2(less(allCalls(d.calls), background.commandsPerS)),
        redisCpuUsPerFan: Math.round(less(d.cpuUs, background.redisCpuUsPerS)),
        serverCpuUsPerFan: Math.round(less(serverUs, background.serverCpuUsPerS)),
        top,
      }
    })
    return {
      fans,
      admitPerS,
      pollsPerFan: steps.find((s) => s.step === 'wait and admission')!.requestsPerFan,
      background: {
        commandsPerS: round1(background.commandsPerS),
        luaCallsPerS: round1(background.luaCallsPerS),
        redisCpuPercent: round2(background.redisCpuUsPerS / 10_000),
        redisIdlePercent: round2(idle.redis.cpuUs / idle.redis.seconds / 10_000),
        serverCpuPercent: round2(background.serverCpuUsPerS / 10_000),
      },
      steps,
    }
  } finally {
    redis.disconnect()
    await closeClients()
    await server.stop()
    await schema.drop()
    await forgetQueues(redisUrl, concerts)
  }
}

// ---------------------------------------------------------------------------------------------
// 2. The ceiling of one shard

/** The settings a sale at `admitPerTick` a second runs under: the deployment's defaults otherwise. */
function rateSettings(redisUrl: string, admitPerTick: number): QueueSettings {
  const { queue } = loadConfig(serviceEnv(DATABASE_URL, redisUrl))
  return { ...queue, strategy: 'rate', admitPerTick, tickMs: 1000, paused: false }
}

interface Client {
  run(run: ClientRun): Promise<number>
  stop(): Promise<void>
}

async function startClient(redisUrl: string, n: number): Promise<Client> {
  const child: ChildProcess = fork(new URL('./scale-client.ts', import.meta.url).pathname, [redisUrl, String(n)], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  })
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve())
    child.once('exit', (code) => reject(new Error(`client ${n} exited with ${code}`)))
  })
  return {
    run: (run) =>
      new Promise((resolve, reject) => {
        child.once('message', (answer: { ops?: number; error?: string }) =>
          answer.error === undefined ? resolve(answer.ops!) : reject(new Error(answer.error)),
        )
        child.send(run)
      }),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve())
        child.send('exit')
      }),
  }
}

async function measureShard(redisUrl: string): Promise<ShardFigures> {
  const redis = new Redis(redisUrl)
  const concertId = `con_scale_${randomBytes(6).toString('hex')}`
  const settings = rateSettings(redisUrl, PLAN.admitPerS)
  const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, n) => startClient(redisUrl, n)))
  const client = await connectRedis(redisUrl, 10_000)
  const store = new RedisQueueStore(client)
  const rows: ShardRow[] = []
  /** Every client runs `script` for SHARD_S seconds (the end: until its fans are ended); Redis counts. */
  const measure = async (script: ShardRow['script'], inFlight: number, tokens: string[][] = []) => {
    const before = await snapshot(redis)
    const untilMs = Date.now() + SHARD_S * 1000
    const ops = sum(await Promise.all(clients.map((c, n) => c.run({ script, concertId, inFlight, untilMs, settings, tokens: tokens[n] }))))
    const d = delta(before, await snapshot(redis))
    const usPerOp = d.cpuUs / ops
    rows.push({
      script,
      inFlight,
      opsPerS: Math.round(ops / d.seconds),
      opsPerCall: round1(ops / luaCalls(d.calls)),
      redisCpuPercent: round1(d.cpuUs / d.seconds / 10_000),
      redisCpuUsPerOp: round2(usPerOp),
      ceilingPerS: Math.round(1e6 / usPerOp),
    })
    console.log(`  ${script}, ${CLIENTS} clients × ${inFlight} in flight: ${JSON.stringify(rows.at(-1))}`)
  }
  try {
    for (const inFlight of IN_FLIGHT) await measure('join', inFlight)
    for (const inFlight of IN_FLIGHT) await measure('status', inFlight)
    const lineLength = await redis.zcard(store.key(concertId, 'waiting'))

    // The tick, each in a window of its own (its clock moved a second a time), admitting a full tick.
    const ticks = Math.min(TICKS, Math.floor(lineLength / PLAN.admitPerS))
    let admitted = 0
    const beforeTicks = await snapshot(redis)
    const start = Date.now()
    for (let k = 1; k <= ticks; k++) admitted += (await store.tick(concertId, start + k * 1000, settings)).admitted
    const tickCpu = delta(beforeTicks, await snapshot(redis)).cpuUs

    // The admitted fans pass the gate, then pay: each client takes its share of them.
    const active = await redis.zrange(store.key(concertId, 'active'), '0', '-1')
    const shares = clients.map((_, n) => active.filter((_, i) => i % clients.length === n))
    for (const inFlight of IN_FLIGHT) await measure('touch', inFlight, shares)
    await measure('end', Math.min(...IN_FLIGHT), shares)

    // The relief, on the line still waiting (made long enough first, not counted): each client
    // copies it, then polls its fans still in it with the relief.
    const waitingKey = store.key(concertId, 'waiting')
    while ((await redis.zcard(waitingKey)) < RELIEF_LINE_FRONTS * NEAR_FRONT_S * PLAN.admitPerS) {
      await Promise.all(
        clients.map((c) => c.run({ script: 'join', concertId, inFlight: Math.max(...IN_FLIGHT), untilMs: Date.now() + 2000, settings })),
      )
    }
    const copiedLine = await redis.zcard(waitingKey)
    const waitingNow = await redis.zrange(waitingKey, '0', '-1')
    await measure(
      'copy',
      1,
      clients.map(() => waitingNow),
    )
    for (const inFlight of IN_FLIGHT) await measure('relieved', inFlight)
    const heartbeat = await measureHeartbeats(redis, store, concertId, settings)
    return {
      clients: CLIENTS,
      durationS: SHARD_S,
      lineLength,
      rows,
      tick: {
        admitPerTick: PLAN.admitPerS,
        ticks,
        redisCpuUsPerTick: Math.round(tickCpu / Math.max(1, ticks)),
        redisCpuUsPerAdmitted: round2(tickCpu / Math.max(1, admitted)),
      },
      heartbeat,
      copy: { members: copiedLine, redisCpuUsPerMember: rows.find((r) => r.script === 'copy')!.redisCpuUsPerOp },
    }
  } finally {
    await Promise.all(clients.map((c) => c.stop()))
    client.disconnect()
    await redis.unlink(...store.keys(concertId))
    await redis.zrem(store.liveKey, concertId)
    redis.disconnect()
  }
}

/**
 * One process's relief, step by step: a tick reads the counts and the line is copied (not
 * counted); every fan beyond the front's places polls, answered from the copy; then the next tick
 * sends their heartbeats (counted, per fan), and ticks with nothing to send read the counts
 * (counted, per tick). The ticks are paused (they admit no one) and, but the first, in its window.
 */
async function measureHeartbeats(redis: Redis, store: RedisQueueStore, concertId: string, settings: QueueSettings) {
  const paused = { ...settings, paused: true }
  const at = Math.floor(Date.now() / 1000) * 1000
  await store.tick(concertId, at, paused)
  await store.copyLine(concertId, at)
  const far = await redis.zrange(store.key(concertId, 'waiting'), String(NEAR_FRONT_S * PLAN.admitPerS), '-1')
  for (let i = 0; i < far.length; i += 5000) {
    const tokens = far.slice(i, i + 5000)
    const entries = await redis.hmget(store.key(concertId, 'entries'), ...tokens)
    await Promise.all(
      tokens.map((token, k) => {
        const [userId, joinedAt, orderKey] = entries[k]!.split('|') as [string, string, string]
        return store.status(concertId, token, at + 100, settings, { userId, joinedAt: Number(joinedAt), orderKey: Number(orderKey) })
      }),
    )
  }
  const beats = store.relief.pendingBeats(concertId)
  const beforeBeats = await snapshot(redis)
  await store.tick(concertId, at + 200, paused)
  const beatCpu = delta(beforeBeats, await snapshot(redis)).cpuUs
  const beforeReadings = await snapshot(redis)
  for (let k = 0; k < READINGS; k++) await store.tick(concertId, at + 300, paused)
  const readingCpu = delta(beforeReadings, await snapshot(redis)).cpuUs
  return {
    batch: BEATS_PER_RUN,
    fans: beats,
    redisCpuUsPerMember: round2(beatCpu / Math.max(1, beats)),
    redisCpuUsPerTick: round1(readingCpu / READINGS),
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Polls against the line's length: the formula, and a simulation on a moved clock

/** Fans of one simulated line, each due to poll at a step of the clock. */
class PollSchedule {
  readonly #due = new Map<number, string[]>()

  at(step: number, token: string) {
    const due = this.#due.get(step)
    if (due) due.push(token)
    else this.#due.set(step, [token])
  }

  take(step: number): string[] {
    const due = this.#due.get(step) ?? []
    this.#due.delete(step)
    return due
  }
}

async function inject(
  app: App,
  expected: number,
  method: 'GET' | 'POST' | 'PATCH',
  url: string,
  headers: Record<string, string>,
  payload?: object,
) {
  const res = await app.inject({ method, url, headers, ...(payload ? { payload } : {}) })
  if (res.statusCode !== expected) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
  return res.json()
}

/**
 * One line of `fans` scaled down by SIM_SCALE with its admission rate, so its polls a second are
 * the full line's scaled down too (the policy depends on position over rate only). The line is
 * taken as already formed: every fan joins at the start and first polls at a uniformly drawn
 * point of the wait it was told, as in a line that has been polling a while; after that each polls
 * at exactly the pollAfterMs it is told. Admission ticks every second, and as many new fans join at
 * the back, so the line keeps its length. Polls are counted over the window after the warm-up,
 * which is longer than the longest wait a fan is told, so every fan counted has its pace from
 * the real answers.
 */
async function simulateLine(app: App, clock: ManualClock, concertId: string, fans: number, capMs: number): Promise<PollRow> {
  const admitPerS = PLAN.admitPerS / SIM_SCALE
  const n = Math.round(fans / SIM_SCALE)
  await inject(app, 201, 'POST', `/v1/admin/concerts/${concertId}/schedules`, admin, {
    startsAt: new Date(clock.now() + 30 * 86_400_000).toISOString(),
    sections: [{ name: 'Floor', rows: 100, seatsPerRow: 100, price: 50_000 }],
  })
  await inject(app, 200, 'PATCH', `/v1/admin/concerts/${concertId}/queue`, admin, {
    strategy: 'rate',
    admitPerTick: admitPerS,
    tickMs: 1000,
  })
  const due = new PollSchedule()
  let step = 0
  const after = (ms: number) => step + Math.max(1, Math.round(ms / SIM_STEP_MS))
  let joined = 0
  const join = async () => {
    const bearer = app.components.accessTokens.issue(`usr_sim_${concertId}_${joined++}`)
    return inject(app, 201, 'POST', `/v1/concerts/${concertId}/queue`, { authorization: `Bearer ${bearer}` })
  }
  for (let i = 0; i < n; i += 500) {
    const batch = await Promise.all(Array.from({ length: Math.min(500, n - i) }, join))
    for (const { token, pollAfterMs } of batch) due.at(after(Math.random() * pollAfterMs), token)
  }
  const stepsPerSecond = 1000 / SIM_STEP_MS
  const warmSteps = SIM_WARM_S * stepsPerSecond
  let counted = 0
  // The polls the relief answered from the copy wait for the tick to go as heartbeats: counted there.
  const store = app.components.queueStore as RedisQueueStore
  let fromCopy = 0
  for (step = 1; step <= warmSteps + SIM_WINDOW_S * stepsPerSecond; step++) {
    clock.advance(SIM_STEP_MS)
    if (step % stepsPerSecond === 0) {
      if (step > warmSteps) fromCopy += store.relief.pendingBeats(concertId)
      await app.components.queue.tick()
      for (const { token, pollAfterMs } of await Promise.all(Array.from({ length: admitPerS }, join))) due.at(after(pollAfterMs), token)
    }
    const polls = due.take(step)
    const answers = await Promise.all(polls.map((token) => inject(app, 200, 'GET', '/v1/queue/status', { 'queue-token': token })))
    answers.forEach((answer, i) => {
      if (answer.status === 'WAITING') due.at(after(answer.pollAfterMs), polls[i]!)
      else if (answer.status !== 'ACTIVE') throw new Error(`a simulated fan was told ${answer.status}`)
    })
    if (step > warmSteps) counted += polls.length
  }
  const measured = counted / SIM_WINDOW_S
  const atScale = pollsAlongTheLine(n, admitPerS, capMs)
  return {
    fans,
    fromCopy: round2(fromCopy / counted),
    modelFromCopy: round2(fromCopyShare(n, admitPerS, capMs)),
    summedPerS: Math.round(pollsSummedOverPositions(fans, PLAN.admitPerS, capMs)),
    modelPerS: Math.round(pollsAlongTheLine(fans, PLAN.admitPerS, capMs)),
    simulatedFans: n,
    simulatedPolls: counted,
    measuredPerS: Math.round(measured * SIM_SCALE),
    modelAtScalePerS: Math.round(atScale * SIM_SCALE),
    measuredToModel: round2(measured / atScale),
  }
}

async function simulatePolls(redisUrl: string): Promise<PollFigures> {
  if (!Number.isInteger(PLAN.admitPerS / SIM_SCALE)) throw new Error('SCALE_SIM_SCALE must divide SCALE_ADMIT_PER_S')
  const schema = await freshSchema()
  const clock = new ManualClock()
  const config = loadConfig({ ...serviceEnv(schema.url, redisUrl), OVERLOAD_LAG_MS: '0' })
  const capMs = pollCapMs(config.queue.waitingIdleS)
  const app = await buildApp({ config, clock, backgroundLoops: false })
  await app.ready()
  const rows: PollRow[] = []
  const concerts: string[] = []
  try {
    for (const fans of SIM_LINES) {
      const started = performance.now()
      const { concertId } = await inject(app, 201, 'POST', '/v1/admin/concerts', admin, { title: 'Sim', performer: 'P', venue: 'V' })
      concerts.push(concertId)
      rows.push(await simulateLine(app, clock, concertId, fans, capMs))
      console.log(`  ${JSON.stringify(rows.at(-1))} (${Math.round((performance.now() - started) / 1000)} s)`)
    }
  } finally {
    await app.close()
    await schema.drop()
    await forgetQueues(redisUrl, concerts)
  }
  return {
    admitPerS: PLAN.admitPerS,
    waitingIdleS: config.queue.waitingIdleS,
    pollCapMs: capMs,
    scale: SIM_SCALE,
    warmS: SIM_WARM_S,
    windowS: SIM_WINDOW_S,
    rows,
  }
}

// ---------------------------------------------------------------------------------------------
// 4. One and two service processes

async function measureProcesses(redisUrl: string): Promise<ProcessFigures> {
  const schema = await freshSchema()
  const env = serviceEnv(schema.url, redisUrl)
  const servers: ServerProcess[] = []
  const redis = new Redis(redisUrl)
  const signer = new AccessTokens(new TokenSigner(AUTH_SECRET, systemClock))
  let concertId = ''
  try {
    for (let n = 0; n < 2; n++) servers.push(await startServer(env))
    const url = servers[0]!.url
    ;({ concertId } = await expect(url, 201, 'POST', '/v1/admin/concerts', admin, { title: 'Mix', performer: 'P', venue: 'V' }))
    await expect(url, 201, 'POST', `/v1/admin/concerts/${concertId}/schedules`, admin, {
      startsAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      sections: [{ name: 'A', rows: 10, seatsPerRow: 100, price: 50_000 }],
    })
    // A paused line, so admissions do not move it while it is measured.
    await expect(url, 200, 'PATCH', `/v1/admin/concerts/${concertId}/queue`, admin, { paused: true })
    const tokens: string[] = []
    await inParallel(Array.from({ length: POLLERS }), 64, async (_, k) => {
      const auth = { authorization: `Bearer ${signer.issue(`usr_scale_poller_${k}`)}` }
      tokens[k] = (await expect(url, 201, 'POST', `/v1/concerts/${concertId}/queue`, auth)).token
    })
    // The mix: one request in JOIN_EVERY a join of a new fan, the others status polls along the line.
    let i = 0
    let joins = 0
    const mix = (): { method?: 'POST'; path: string; headers: Record<string, string> } =>
      i++ % JOIN_EVERY === 0
        ? {
            method: 'POST',
            path: `/v1/concerts/${concertId}/queue`,
            headers: { authorization: `Bearer ${signer.issue(`usr_scale_mix_${joins++}`)}` },
          }
        : { path: '/v1/queue/status', headers: { 'queue-token': tokens[i % tokens.length]! } }
    const runs: ProcessRow[] = []
    for (let round = 0; round < ROUNDS; round++) {
      for (const processes of [1, 2]) {
        const before = await snapshot(redis)
        const loadGenerator = process.cpuUsage()
        const rows: Row[] = await Promise.all(
          servers.slice(0, processes).map((s) => drive({ url: s.url, pid: s.child.pid! }, 'status poll and join', 'postgres+redis', mix)),
        )
        const d = delta(before, await snapshot(redis))
        const used = process.cpuUsage(loadGenerator)
        const rps = sum(rows.map((r) => r.rps))
        runs.push({
          processes,
          rps,
          p50: Math.max(...rows.map((r) => r.p50)),
          p99: Math.max(...rows.map((r) => r.p99)),
          errors: sum(rows.map((r) => r.errors)),
          serverCpuUsPerReq: Math.round(sum(rows.map((r) => (r.cpuUs ?? 0) * r.rps)) / rps),
          redisCpuPercent: round1(d.cpuUs / d.seconds / 10_000),
          loadGeneratorCpuPercent: round1((used.user + used.system) / d.seconds / 10_000),
        })
        console.log(`  round ${round + 1}: ${JSON.stringify(runs.at(-1))}`)
      }
    }
    // Per number of processes, the round with the median throughput.
    const median = (processes: number) => {
      const mine = runs.filter((r) => r.processes === processes).sort((a, b) => a.rps - b.rps)
      return mine[Math.floor((mine.length - 1) / 2)]!
    }
    const rows = [median(1), median(2)]
    return {
      connectionsPerProcess: CONNECTIONS,
      durationS: DURATION_S,
      joinEvery: JOIN_EVERY,
      rounds: ROUNDS,
      pollers: POLLERS,
      rows,
      twoToOne: round2(rows[1]!.rps / rows[0]!.rps),
    }
  } finally {
    redis.disconnect()
    await closeClients()
    await Promise.all(servers.map((s) => s.stop()))
    await schema.drop()
    if (concertId) await forgetQueues(redisUrl, [concertId])
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  console.log(`stagedoor scale — ${[...PARTS].join(', ')} — ${machine()}`)
  const redisSide = process.env.BENCH_REDIS_URL ? { url: process.env.BENCH_REDIS_URL, stop: async () => {} } : await privateRedis()
  const m: Partial<ScaleMeasurements> = {}
  const timed = async <T>(part: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now()
    console.log(`${part}…`)
    const result = await work()
    console.log(`${part}: ${Math.round((performance.now() - started) / 1000)} s`)
    return result
  }
  try {
    if (PARTS.has('visit')) {
      m.visit = await timed('visit', () => measureVisit(redisSide.url))
      console.log(`\n${visitTable(m.visit)}\n`)
    }
    if (PARTS.has('shard')) {
      m.shard = await timed('shard', () => measureShard(redisSide.url))
      console.log(`\n${shardTable(m.shard)}\n`)
    }
    if (PARTS.has('polls')) {
      m.polls = await timed('polls', () => simulatePolls(redisSide.url))
      console.log(`\n${pollTable(m.polls)}\n`)
    }
    if (PARTS.has('processes')) {
      m.processes = await timed('processes', () => measureProcesses(redisSide.url))
      console.log(`\n${processTable(m.processes)}\n`)
    }
  } finally {
    await redisSide.stop()
  }
  if (!m.visit || !m.shard || !m.polls || !m.processes) return
  const measurements = m as ScaleMeasurements
  const figures = { ...measurements, plan: plan(measurements, PLAN) }
  console.log(`\n${planTable(figures.plan)}\n`)
  writeSummary('scale', figures)
  updateScalingDoc()
}

await main()
