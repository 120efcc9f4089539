/**
 * One client process of `npm run bench:scale`'s shard ceiling (bench/scale.ts): its own Redis
 * connection and its own `RedisQueueStore`, so the real queue scripts run as a service process
 * runs them (calls of one event-loop turn gathered into one script run, auto-pipelined). The
 * parent sends a run ({ script, inFlight, untilMs, … }); the client keeps `inFlight` calls going
 * until `untilMs`, then answers how many it completed. It polls the fans it joined, so the polls
 * land all along the line; the gate and the end take the admitted fans the parent gives it, the
 * end each of them once. With the relief (src/queue/relief.ts), the client first copies the line
 * (`copy`), then polls as `relieved`: far from the front from its copy, sending heartbeats from
 * its tick every TICK_PERIOD_MS, as a service process's admission loop does.
 *
 *   node --import tsx bench/scale-client.ts <redisUrl> <client number>
 */
import { newId } from '../src/platform/ids.js'
import { connectRedis } from '../src/platform/redis/client.js'
import { RedisQueueStore } from '../src/queue/redis-store.js'
import type { QueueSettings } from '../src/queue/settings.js'
import type { TokenEntry } from '../src/queue/store.js'

export interface ClientRun {
  script: 'join' | 'status' | 'touch' | 'end' | 'copy' | 'relieved'
  concertId: string
  /** The admitted fans' tokens, for the gate (touch) and the end; for `copy`, the fans still waiting, whom `relieved` polls. */
  tokens?: string[]
  inFlight: number
  untilMs: number
  settings: QueueSettings
}

const [, , redisUrl, client] = process.argv
const redis = await connectRedis(redisUrl!, 10_000)
const store = new RedisQueueStore(redis)
const joined: { tokenId: string; entry: TokenEntry }[] = []
/** The admission loop's period in a service process (QueueService.tickPeriodMs). */
const TICK_PERIOD_MS = 250
let arrivals = 0

/** A new fan joins, with an order key made as the service makes one (arrival time, then a count). */
async function join(run: ClientRun) {
  const now = Date.now()
  arrivals++
  const userId = `usr_scale_${client}_${arrivals}`
  const orderKey = now * 1000 + (arrivals % 1000)
  const result = await store.join(run.concertId, userId, newId('qt', now), orderKey, now, run.settings)
  joined.push({ tokenId: result.tokenId, entry: { userId, joinedAt: result.joinedAt, orderKey: result.orderKey } })
}

/** The fans this client polls: all it joined, or, with the relief, those still waiting when it copied the line. */
let pollers = joined

/** One of this client's fans polls, in turn. */
let next = 0
async function poll(run: ClientRun) {
  const fan = pollers[next++ % pollers.length]!
  await store.status(run.concertId, fan.tokenId, Date.now(), run.settings, fan.entry)
}

/** The gate, as every gated request passes it, for the admitted fans in turn. */
async function touch(run: ClientRun) {
  await store.touch(run.concertId, run.tokens![next++ % run.tokens!.length]!, Date.now(), run.settings)
}

/** A payment's end of its admission; false once every admitted fan given has ended. */
async function end(run: ClientRun): Promise<boolean> {
  const token = run.tokens!.pop()
  if (token === undefined) return false
  await store.end(run.concertId, token, 'PAID', Date.now(), run.settings)
  return true
}

/**
 * The process's tick, paused so that it admits no one: with the relief, what it adds to the
 * shard is the heartbeats of the polls answered since, and the read of the line's counts.
 */
const tick = (run: ClientRun) => store.tick(run.concertId, Date.now(), { ...run.settings, paused: true })

/** The line copied once (after a tick, so the counts are fresh); the fans copied are its ops. */
async function copy(run: ClientRun): Promise<number> {
  const waiting = new Set(run.tokens)
  pollers = joined.filter((f) => waiting.has(f.tokenId))
  await tick(run)
  return store.copyLine(run.concertId, Date.now())
}

const calls: Record<Exclude<ClientRun['script'], 'copy'>, (run: ClientRun) => Promise<boolean>> = {
  join: (run) => join(run).then(() => true),
  status: (run) => poll(run).then(() => true),
  relieved: (run) => poll(run).then(() => true),
  touch: (run) => touch(run).then(() => true),
  end,
}

async function drive(run: ClientRun): Promise<number> {
  if (run.script === 'copy') return copy(run)
  const call = calls[run.script]
  if (run.script === 'relieved') return relieved(run, call)
  let done = 0
  await Promise.all(
    Array.from({ length: run.inFlight }, async () => {
      while (Date.now() < run.untilMs && (await call(run))) done++
    }),
  )
  return done
}

/** Polls with the process's tick running beside them. */
async function relieved(run: ClientRun, call: (run: ClientRun) => Promise<boolean>): Promise<number> {
  await tick(run)
  let ticking = Promise.resolve()
  const timer = setInterval(() => {
    ticking = ticking.then(() => tick(run).then(() => undefined))
  }, TICK_PERIOD_MS)
  let done = 0
  await Promise.all(
    Array.from({ length: run.inFlight }, async () => {
      while (Date.now() < run.untilMs && (await call(run))) done++
    }),
  )
  clearInterval(timer)
  // The heartbeats of the last polls go too.
  await ticking
  await tick(run)
  return done
}

process.on('message', (run: ClientRun | 'exit') => {
  if (run === 'exit') {
    redis.disconnect()
    process.exit(0)
  }
  drive(run).then(
    (ops) => process.send!({ ops }),
    (err: Error) => process.send!({ error: err.message }),
  )
})
process.send!('ready')
