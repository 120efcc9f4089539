/**
 * `npm run bench`: starts the service itself on each store it can reach, drives it with
 * autocannon from this process, and prints one table with every figure as a ratio to a bare
 * Fastify route measured in the same run. Results go to bench/results/.
 *
 *   BENCH_STORES=pglite,postgres,redis   which deployments to measure (default: all reachable)
 *   BENCH_DATABASE_URL, BENCH_REDIS_URL  where PostgreSQL and Redis are (default: localhost)
 *   BENCH_DURATION (s), BENCH_CONNECTIONS
 */
import { randomBytes } from 'node:crypto'
import { AccessTokens } from '../src/auth/access-tokens.js'
import { TokenSigner } from '../src/auth/signer.js'
import { systemClock } from '../src/shared/clock.js'
import { drive, freshSchema, machine, type Row, startBare, startServer, table, writeResults } from './lib.js'

const AUTH_SECRET = randomBytes(32).toString('base64url')
const ADMIN_KEY = randomBytes(16).toString('hex')
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

interface Deployment {
  store: string
  env: Record<string, string>
  cleanup?: () => Promise<void>
}

async function deployments(): Promise<Deployment[]> {
  const wanted = (process.env.BENCH_STORES ?? 'pglite,postgres,redis').split(',')
  const out: Deployment[] = []
  if (wanted.includes('pglite')) out.push({ store: 'pglite', env: { DATA_DIR: 'memory://' } })
  for (const store of ['postgres', 'redis'].filter((s) => wanted.includes(s))) {
    try {
      const schema = await freshSchema()
      out.push({
        store: store === 'redis' ? 'postgres+redis' : 'postgres',
        env: { DATABASE_URL: schema.url, ...(store === 'redis' ? { REDIS_URL } : {}) },
        cleanup: schema.drop,
      })
    } catch (err) {
      console.warn(`skipping ${store}: PostgreSQL unreachable (${(err as Error).message})`)
    }
  }
  return out
}

async function benchDeployment(d: Deployment, bearers: string[]): Promise<Row[]> {
  const server = await startServer({
    ...d.env,
    AUTH_SECRET,
    ADMIN_KEY,
    DEMO_DATA: 'false',
    LOG_LEVEL: 'warn',
  })
  const url = server.url
  const rows: Row[] = []
  try {
    const post = async (path: string, body: unknown, headers: Record<string, string>) => {
      const res = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      return (await res.json()) as Record<string, any>
    }
    const admin = { 'x-admin-key': ADMIN_KEY }
    const { concertId } = await post('/v1/admin/concerts', { title: 'Bench', performer: 'Bench', venue: 'Bench' }, admin)
    // Paused: joins and polls are measured without admissions moving the line.
    await fetch(`${url}/v1/admin/concerts/${concertId}/queue`, {
      method: 'PATCH',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ paused: true }),
    })

    let i = 0
    rows.push(
      await drive(url, 'queue join', d.store, () => ({
        method: 'POST',
        path: `/v1/concerts/${concertId}/queue`,
        headers: { authorization: `Bearer ${bearers[i++ % bearers.length]}` },
      })),
    )
    const joined = Math.min(i, bearers.length)

    // Queue tokens of users spread through the line (joining again returns the same token).
    const tokens: string[] = []
    for (let k = 0; k < 500; k++) {
      const bearer = bearers[Math.floor((k * joined) / 500)]!
      const res = await fetch(`${url}/v1/concerts/${concertId}/queue`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}` },
      })
      tokens.push(((await res.json()) as { token: string }).token)
    }
    let j = 0
    rows.push(
      await drive(url, 'status poll', d.store, () => ({
        path: '/v1/queue/status',
        headers: { 'queue-token': tokens[j++ % tokens.length]! },
      })),
    )
    const rss = await memoryOf(server.child.pid!)
    console.log(`  ${d.store}: ${joined} joined; server RSS ${rss} MiB`)
  } finally {
    await server.stop()
    await d.cleanup?.()
  }
  return rows
}

async function memoryOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises')
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return Math.round(kb / 1024)
}

async function main() {
  console.log(`stagedoor bench — ${machine()}`)
  const signer = new AccessTokens(new TokenSigner(AUTH_SECRET, systemClock))
  const bearers = Array.from({ length: 150_000 }, (_, n) => signer.issue(`usr_bench_${n}`))

  // The ceiling is measured before and after the service, and averaged: shared machines drift.
  const bare = await startBare()
  const before = await drive(bare.url, 'bare Fastify route (ceiling)', '—', () => ({ path: '/health' }))
  const measured: Row[] = []
  for (const d of await deployments()) {
    console.log(`measuring ${d.store}…`)
    measured.push(...(await benchDeployment(d, bearers)))
  }
  const after = await drive(bare.url, 'bare Fastify route (ceiling)', '—', () => ({ path: '/health' }))
  await bare.stop()
  console.log(`ceiling before ${before.rps} req/s, after ${after.rps} req/s`)
  const ceiling: Row = {
    ...before,
    rps: Math.round((before.rps + after.rps) / 2),
    p50: Math.max(before.p50, after.p50),
    p99: Math.max(before.p99, after.p99),
    errors: before.errors + after.errors,
  }
  const rows: Row[] = [{ ...ceiling, ratio: 1 }, ...measured.map((r) => ({ ...r, ratio: r.rps / ceiling.rps }))]
  console.log(`\n${table(rows)}\n`)
  const redisJoin = rows.find((r) => r.scenario === 'queue join' && r.store === 'postgres+redis')
  const dbJoin = rows.find((r) => r.scenario === 'queue join' && r.store === 'postgres')
  if (redisJoin && dbJoin) console.log(`Redis store joins ÷ database store joins: ${(redisJoin.rps / dbJoin.rps).toFixed(1)}×`)
  writeResults('latest', rows)
}

await main()
