/**
 * `npm run bench:memory`: shows that a process's memory does not grow with the waiting line:
 * joins 100,000 users to one concert through the app (in process, waiting room on Redis, or in
 * the embedded database with BENCH_REDIS_URL= empty) and prints the heap after a full GC at each
 * step. Bounded caches (verified tokens, concerts) fill early and then stay flat. The figures go to
 * bench/results/memory.json and docs/performance.md.
 */
import { randomBytes } from 'node:crypto'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { closeClients, machine, writeSummary } from './lib.js'

const USERS = Number(process.env.BENCH_USERS ?? 100_000)
const STEP = USERS / 4
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with node --expose-gc (npm run bench:memory does)')

const heapMiB = () => {
  gc()
  gc()
  return Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10
}

const config = loadConfig({
  DATA_DIR: 'memory://',
  AUTH_SECRET: randomBytes(32).toString('base64url'),
  ADMIN_KEY: randomBytes(16).toString('hex'),
  DEMO_DATA: 'false',
  LOG_LEVEL: 'silent',
  // Every join comes from this one process's address.
  RATE_JOIN_PER_MIN: '0',
  ...(REDIS_URL ? { REDIS_URL } : {}),
})
const app = await buildApp({ config, backgroundLoops: false, redisPrefix: `bench:${randomBytes(4).toString('hex')}:` })
const admin = { 'x-admin-key': config.adminKey }
const { concertId } = (
  await app.inject({ method: 'POST', url: '/v1/admin/concerts', headers: admin, payload: { title: 'M', performer: 'P', venue: 'V' } })
).json() as { concertId: string }
// A concert with nothing left to sell is sold out to joins: the line forms for a date.
await app.inject({
  method: 'POST',
  url: `/v1/admin/concerts/${concertId}/schedules`,
  headers: admin,
  payload: {
    startsAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    sections: [{ name: 'A', rows: 5, seatsPerRow: 10, price: 50_000 }],
  },
})
await app.inject({ method: 'PATCH', url: `/v1/admin/concerts/${concertId}/queue`, headers: admin, payload: { paused: true } })

console.log(`stagedoor memory — ${USERS} waiting users, waiting room on ${REDIS_URL ? 'Redis' : 'the embedded database'} — ${machine()}`)
const figures: { waiting: number; heapMiB: number }[] = [{ waiting: 0, heapMiB: heapMiB() }]
console.log(`waiting ${0}: heap ${figures[0]!.heapMiB} MiB`)
for (let joined = 0; joined < USERS; ) {
  const batch = Array.from({ length: 200 }, (_, i) => app.components.accessTokens.issue(`usr_mem_${joined + i}`))
  await Promise.all(
    batch.map((token) =>
      app.inject({ method: 'POST', url: `/v1/concerts/${concertId}/queue`, headers: { authorization: `Bearer ${token}` } }),
    ),
  )
  joined += batch.length
  if (joined % STEP === 0) {
    const { waiting } = (await app.inject({ url: `/v1/admin/concerts/${concertId}/queue`, headers: admin })).json() as { waiting: number }
    figures.push({ waiting, heapMiB: heapMiB() })
    console.log(`waiting ${waiting}: heap ${figures.at(-1)!.heapMiB} MiB`)
  }
}
await app.close()
await closeClients()
const half = figures[2]!
const full = figures.at(-1)!
console.log(`heap with ${full.waiting} waiting vs ${half.waiting}: ${(full.heapMiB - half.heapMiB).toFixed(1)} MiB`)
writeSummary('memory', { store: REDIS_URL ? 'redis' : 'database', users: USERS, steps: figures })
