import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

export interface LocalRedisCluster {
  /** Node addresses like [{ host: '127.0.0.1', port: 7xxx }, ...] — the three masters. */
  nodes: { host: string; port: number }[]
  /** `redis-cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3` */
  url: string
  stop(): Promise<void>
}

const HOST = '127.0.0.1'
const MASTERS = 3
// A cluster node also listens on port + 10000 for its bus, which must stay a valid port.
const BUS_OFFSET = 10_000
const MAX_PORT = 65_535 - BUS_OFFSET
const POLL_MS = 50

interface NodeProcess {
  port: number
  dir: string
  child: ChildProcess
  output(): string
  exited: Promise<void>
}

/** Starts three redis-server processes as a fresh Redis Cluster of three masters, no replicas. */
export async function startRedisCluster(): Promise<LocalRedisCluster> {
  const started: NodeProcess[] = []
  // redis-server outlives a parent that dies without stop() (e.g. an uncaught error), so kill the nodes on exit too.
  const killOnExit = () => killNow(started)
  process.once('exit', killOnExit)
  const stop = once(async () => {
    await stopAll(started)
    process.off('exit', killOnExit)
  })
  try {
    const ports = await freePorts(MASTERS)
    for (const port of ports) started.push(await startNode(port))
    await Promise.all(
      started.map((n) =>
        waitFor(
          `redis-server on port ${n.port} to answer PING`,
          10_000,
          n,
          async () => (await cli(['-p', String(n.port), 'ping'])).stdout.trim() === 'PONG',
        ),
      ),
    )

    const create = await cli(['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '0', '--cluster-yes'])
    if (create.code !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}\n${outputs(started)}`)

    // `--cluster create` returns once the nodes agree on slots; each node still has to flip to state ok.
    const deadline = Date.now() + 20_000
    for (const n of started) {
      await waitFor(`cluster_state:ok on port ${n.port}`, deadline - Date.now(), n, async () =>
        (await cli(['-p', String(n.port), 'cluster', 'info'])).stdout.includes('cluster_state:ok'),
      )
    }
  } catch (err) {
    await stop()
    throw err
  }
  return {
    nodes: started.map((n) => ({ host: HOST, port: n.port })),
    url: `redis-cluster://${started.map((n) => `${HOST}:${n.port}`).join(',')}`,
    stop,
  }
}

async function startNode(port: number): Promise<NodeProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `redis-cluster-${port}-`))
  // prettier-ignore
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      HOST,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      '2000',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  // 'error' covers a binary that could not be spawned at all, when 'exit' never comes.
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.once('error', (err) => {
      output += `\n${err.message}`
      resolve()
    })
  })
  return { port, dir, child, output: () => output, exited }
}

async function stopAll(nodes: NodeProcess[]): Promise<void> {
  await Promise.all(
    nodes.map(async (n) => {
      if (isRunning(n.child)) {
        n.child.kill('SIGTERM')
        const timer = setTimeout(() => isRunning(n.child) && n.child.kill('SIGKILL'), 3_000)
        await n.exited
        clearTimeout(timer)
      }
      await rm(n.dir, { recursive: true, force: true })
    }),
  )
}

/** Synchronous last resort for process exit, when nothing async runs anymore. */
function killNow(nodes: NodeProcess[]): void {
  for (const n of nodes) {
    if (isRunning(n.child)) n.child.kill('SIGKILL')
    try {
      rmSync(n.dir, { recursive: true, force: true })
    } catch {
      // best effort: the node may still be writing nodes.conf as it dies
    }
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null
}

/** Polls `check` until it holds; fails early if the node died, with its output either way. */
async function waitFor(what: string, timeoutMs: number, node: NodeProcess, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (!isRunning(node.child)) throw new Error(`redis-server on port ${node.port} exited while waiting for ${what}:\n${node.output()}`)
    if (await check()) return
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${what}:\n${node.output()}`)
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('redis-cli', args, { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolve({ code, stdout, stderr: stderr || (err?.message ?? '') })
    })
  })
}

/** Distinct free ports whose bus port (port + 10000) is free as well. */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = []
  for (let attempt = 0; ports.length < count; attempt++) {
    if (attempt > 200) throw new Error('could not find free ports for a Redis Cluster')
    // Port 0 hands out ephemeral ports (often above MAX_PORT), so pick below the limit at random instead.
    const port = 20_000 + Math.floor(Math.random() * (MAX_PORT - 20_000))
    // Neither the port nor its bus may clash with a port or bus already picked.
    if (ports.some((p) => [0, BUS_OFFSET].includes(Math.abs(p - port)))) continue
    if ((await isFree(port)) && (await isFree(port + BUS_OFFSET))) ports.push(port)
  }
  return ports
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, HOST, () => server.close(() => resolve(true)))
  })
}

function outputs(nodes: NodeProcess[]): string {
  return nodes.map((n) => `--- redis-server :${n.port} ---\n${n.output()}`).join('\n')
}

/** Makes `fn` run at most once; later calls share the first call's promise. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined
  return () => (running ??= fn())
}
