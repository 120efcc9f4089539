import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import autocannon, { type Request } from 'autocannon'
import { Redis } from 'ioredis'
import pg from 'pg'
import { Pool, WebSocket } from 'undici'
import { RedisQueueStore } from '../src/queue/redis-store.js'
import { freePort, type ServerProcess, startServer } from '../test/support/process.js'
import { updatePerformanceDoc } from './tables.js'

export const DURATION_S = Number(process.env.BENCH_DURATION ?? 8)
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)

export interface Row {
  scenario: string
  store: string
  rps: number
  p50: number
  p99: number
  errors: number
  /** Bytes received per answer, headers included (what the network carries). */
  bytes?: number
  /** The service process's CPU time (user + system) per request, in microseconds. */
  cpuUs?: number
  ratio?: number
  /** The ratio to the floor route of the same shape (a join to the write floor, reads to the read floor). */
  floorRatio?: number
}

/** A running service: where to send requests, and which process to charge their CPU time to. */
export interface Target {
  url: string
  pid: number
  /** When set, each scenario's measured window is CPU-profiled and drawn as a flame graph. */
  profiler?: Profiler
}

/**
 * Profiles a service process through its inspector (`--inspect`), so a profile covers just the
 * measured window of one scenario and not the setup around it.
 */
export class Profiler {
  #id = 0
  readonly #pending = new Map<number, (result: Record<string, unknown>) => void>()

  private constructor(
    private readonly socket: WebSocket,
    /** Where profiles go: `<dir>/<scenario>/profile.cpuprofile`, beside its `flamegraph.html`. */
    private readonly dir: string,
  ) {
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown> }
      if (message.id !== undefined) this.#pending.get(message.id)?.(message.result ?? {})
    })
  }

  static async connect(inspectPort: number, dir: string): Promise<Profiler> {
    const [target] = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[]
    const socket = new WebSocket(target!.webSocketDebuggerUrl)
    await new Promise((resolve, reject) => {
      socket.addEventListener('open', resolve)
      socket.addEventListener('error', reject)
    })
    const profiler = new Profiler(socket, dir)
    await profiler.#send('Profiler.enable')
    await profiler.#send('Profiler.setSamplingInterval', { interval: 200 })
    return profiler
  }

  async start() {
    await this.#send('Profiler.start')
  }

  /** Stops, writes the profile, draws it with 0x and returns where the flame graph is. */
  async stop(scenario: string): Promise<string> {
    const { profile } = await this.#send('Profiler.stop')
    const name = scenario.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '')
    const dir = `${this.dir}/${name}`
    mkdirSync(dir, { recursive: true })
    writeFileSync(`${dir}/profile.cpuprofile`, JSON.stringify(profile))
    spawnSync(process.execPath, ['node_modules/0x/cmd.js', '--quiet', '--visualize-cpu-profile', `${dir}/profile.cpuprofile`], {
      stdio: 'inherit',
    })
    return `${dir}/flamegraph.html`
  }

  close() {
    this.socket.close()
  }

  #send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = ++this.#id
    return new Promise((resolve) => {
      this.#pending.set(id, resolve)
      this.socket.send(JSON.stringify({ id, method, params }))
    })
  }
}

/** CPU time (user + system) a process has used so far, in microseconds; clock ticks are 10 ms on Linux. */
export function cpuTimeUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

/** Runs `work` and adds the target process's CPU time per completed request to its row. */
async function charged(target: Target, work: () => Promise<{ row: Row; requests: number }>): Promise<Row> {
  await target.profiler?.start()
  const before = cpuTimeUs(target.pid)
  const { row, requests } = await work()
  const cpuUs = requests > 0 ? Math.round((cpuTimeUs(target.pid) - before) / requests) : undefined
  if (target.profiler) console.log(`  flame graph of ${row.scenario}: ${await target.profiler.stop(row.scenario)}`)
  return { ...row, cpuUs }
}

/** Drives one scenario with autocannon; `next` builds each request (so each can carry its own user). */
export async function drive(
  target: Target,
  scenario: string,
  store: string,
  next: () => { method?: 'GET' | 'POST' | 'DELETE'; path: string; headers?: Record<string, string>; body?: string },
): Promise<Row> {
  return charged(target, async () =>
    toRow(
      await autocannon({
        url: target.url,
        connections: CONNECTIONS,
        duration: DURATION_S,
        requests: [
          {
            setupRequest: (request: Request) => {
              const r = next()
              return { ...request, method: r.method ?? 'GET', path: r.path, headers: { ...r.headers }, body: r.body } as Request
            },
          },
        ],
      }),
      scenario,
      store,
    ),
  )
}

function toRow(result: autocannon.Result, scenario: string, store: string): { row: Row; requests: number } {
  const errors = result.errors + result.timeouts + result.non2xx
  const requests = result.requests.total
  const bytes = requests > 0 ? Math.round(result.throughput.total / requests) : undefined
  return {
    row: { scenario, store, rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, errors, bytes },
    requests,
  }
}

/** The same request over and over: autocannon builds it once, the cheapest load it can make. */
export async function driveFixed(target: Target, scenario: string, path: string): Promise<Row> {
  return charged(target, async () =>
    toRow(await autocannon({ url: target.url + path, connections: CONNECTIONS, duration: DURATION_S }), scenario, '—'),
  )
}

export async function startBare(script = 'bare-server.ts', args: string[] = []): Promise<Target & { stop(): Promise<void> }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(`./${script}`, import.meta.url).pathname, String(port), ...args], {
    stdio: 'inherit',
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) break
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

export { freePort, type ServerProcess, startServer }

export function machine() {
  const cpus = os.cpus()
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`
}

/** Writes a benchmark's figures to bench/results/<name>.json and renews docs/performance.md from them. */
export function writeSummary(name: string, figures: Record<string, unknown>) {
  const dir = new URL('./results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    new URL(`${name}.json`, dir),
    JSON.stringify({ at: new Date().toISOString(), machine: machine(), ...figures }, null, 2) + '\n',
  )
  updatePerformanceDoc()
}

export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A fresh schema on the benchmark PostgreSQL, and how to drop it. */
export async function freshSchema(): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `bench_${randomBytes(4).toString('hex')}`
  const run = async (statement: string) => {
    const client = new pg.Client({ connectionString: DATABASE_URL })
    await client.connect()
    try {
      await client.query(statement)
    } finally {
      await client.end()
    }
  }
  await run(`create schema ${schema}`)
  const url = new URL(DATABASE_URL)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return { url: url.toString(), drop: () => run(`drop schema ${schema} cascade`) }
}

export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0

export async function inParallel<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++
        await fn(items[i]!, i)
      }
    }),
  )
}

// undici's pooled client: far less client CPU per request than fetch, on a machine the client shares.
const pools = new Map<string, Pool>()

/** `call`s to `url` from now on share up to `connections` connections (128 unless set). */
export function useConnections(url: string, connections: number) {
  void pools.get(url)?.close()
  pools.set(url, new Pool(url, { connections }))
}

export async function call(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  let pool = pools.get(url)
  if (!pool) {
    pool = new Pool(url, { connections: 128 })
    pools.set(url, pool)
  }
  const res = await pool.request({
    method: method as 'GET',
    path,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.body.text()
  return { status: res.statusCode, body: text ? JSON.parse(text) : null }
}

export async function closeClients() {
  await Promise.all([...pools.values()].map((p) => p.close()))
  pools.clear()
}

/** Runs `work` over `items` with `concurrency` in flight and reports it as a table row. */
export async function driveEach<T>(
  target: Target,
  scenario: string,
  store: string,
  items: T[],
  concurrency: number,
  work: (item: T, i: number) => Promise<boolean>,
): Promise<Row> {
  return charged(target, async () => {
    const latencies: number[] = []
    let errors = 0
    const started = performance.now()
    await inParallel(items, concurrency, async (item, i) => {
      const t = performance.now()
      const ok = await work(item, i)
      latencies.push(performance.now() - t)
      if (!ok) errors++
    })
    const seconds = (performance.now() - started) / 1000
    latencies.sort((a, b) => a - b)
    const row: Row = {
      scenario,
      store,
      rps: Math.round(items.length / seconds),
      p50: Math.round(percentile(latencies, 50)),
      p99: Math.round(percentile(latencies, 99)),
      errors,
    }
    return { row, requests: items.length }
  })
}

/** Deletes the waiting rooms of the concerts a run created, so runs do not pile up in Redis. */
export async function forgetQueues(redisUrl: string, concertIds: string[], prefix?: string) {
  const redis = new Redis(redisUrl)
  try {
    const store = new RedisQueueStore(redis, prefix)
    for (const id of concertIds) await redis.unlink(...store.keys(id))
    if (concertIds.length > 0) await redis.zrem(store.liveKey, ...concertIds)
  } finally {
    redis.disconnect()
  }
}

/**
 * A redis-server of the benchmark's own, without persistence: every command and every CPU second
 * it counts is the benchmark's, and resetting or reading its figures disturbs no one else.
 */
export async function privateRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-redis-'))
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  })
  const url = `redis://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {})
    try {
      await probe.connect()
      await probe.ping()
      probe.disconnect()
      break
    } catch (err) {
      probe.disconnect()
      if (i >= 100) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return {
    url,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Commands processed and CPU seconds (user + system) used by the Redis server so far. */
export async function redisCounters(redis: Redis): Promise<{ commands: number; cpuS: number }> {
  const info = await redis.info()
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)![1])
  return { commands: field('total_commands_processed'), cpuS: field('used_cpu_user') + field('used_cpu_sys') }
}
