import { type ChildProcess, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll } from 'vitest'
import { freePort } from './process.js'

export interface PrivateRedis {
  port: number
  /** `redis://127.0.0.1:<port>` */
  url: string
  /** Everything the server printed, across restarts. */
  output(): string
  /** Crashes the server (SIGKILL) and waits until it is gone. */
  kill(): Promise<void>
  /** Starts the server again on the same port and directory (killing it first if it runs); with AOF on, data survives. */
  restart(): Promise<void>
  /** Freezes the server (SIGSTOP): connections stay open but nothing is answered. */
  pause(): void
  /** Thaws a paused server (SIGCONT). */
  resume(): void
  /** Shuts the server down and removes its directory; safe to call more than once and after kill(). */
  stop(): Promise<void>
}

const HOST = '127.0.0.1'
const WAIT_MS = 10_000
const POLL_MS = 50

/** Every instance not stopped yet, so a test that forgets stop() leaks neither processes nor directories. */
const running = new Set<PrivateRedis & { killNow(): void }>()

afterAll(async () => {
  await Promise.all([...running].map((r) => r.stop()))
})
// Last resort when the worker exits without running hooks: redis-server would outlive it.
process.once('exit', () => {
  for (const r of running) r.killNow()
})

/**
 * Starts a private redis-server of the test's own, which it may kill, restart or freeze
 * without touching the shared Redis. With `aof`, every write is fsynced to the append-only
 * file, so it survives a kill; without it, a kill loses all data.
 */
export async function startRedisServer(options: { aof?: boolean } = {}): Promise<PrivateRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redis-server-'))
  const port = await freePort()
  const persistence = options.aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']
  const args = ['--port', String(port), '--bind', HOST, '--dir', dir, '--save', '', ...persistence, '--daemonize', 'no']

  let output = ''
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let paused = false
  let stopping: Promise<void> | undefined

  function spawnServer() {
    output += `--- redis-server ${args.join(' ')}\n`
    const c = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    c.stdout!.on('data', (d) => (output += d))
    c.stderr!.on('data', (d) => (output += d))
    // 'error' covers a binary that could not be spawned, when 'exit' never comes.
    exited = new Promise<void>((resolve) => {
      c.once('exit', () => resolve())
      c.once('error', (err) => {
        output += `${err.message}\n`
        resolve()
      })
    })
    child = c
    paused = false
  }

  async function waitReady() {
    const deadline = Date.now() + WAIT_MS
    for (;;) {
      const c = child
      if (!c || !isRunning(c)) {
        await exited // a spawn error arrives a tick later: let it reach the output
        throw new Error(`redis-server on port ${port} exited before it answered PING:\n${output}`)
      }
      if (await answers(port, c.pid!)) return
      if (Date.now() >= deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${WAIT_MS} ms:\n${output}`)
      await new Promise((r) => setTimeout(r, POLL_MS))
    }
  }

  /** Sends `signal` and waits for the exit; a frozen server is thawed first so it can act on it. */
  async function end(signal: NodeJS.Signals) {
    const c = child
    if (!c || !isRunning(c)) return
    if (paused) c.kill('SIGCONT')
    paused = false
    c.kill(signal)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), WAIT_MS)))
    const result = await Promise.race([exited, timeout])
    clearTimeout(timer)
    if (result !== 'timeout') return
    if (signal === 'SIGKILL') throw new Error(`redis-server on port ${port} did not exit after SIGKILL:\n${output}`)
    await end('SIGKILL')
  }

  const redis = {
    port,
    url: `redis://${HOST}:${port}`,
    output: () => output,
    async kill() {
      await end('SIGKILL')
    },
    async restart() {
      if (stopping) throw new Error('redis-server was stopped; it cannot be restarted')
      await end('SIGKILL')
      spawnServer()
      await waitReady()
    },
    pause() {
      if (!child || !isRunning(child)) throw new Error(`redis-server on port ${port} is not running`)
      child.kill('SIGSTOP')
      paused = true
    },
    resume() {
      if (!paused || !child || !isRunning(child)) return
      child.kill('SIGCONT')
      paused = false
    },
    stop() {
      stopping ??= (async () => {
        try {
          await end('SIGTERM')
        } finally {
          running.delete(redis)
          await rm(dir, { recursive: true, force: true })
        }
      })()
      return stopping
    },
    killNow() {
      if (child && isRunning(child)) child.kill('SIGKILL')
      try {
        rmSync(dir, { recursive: true, force: true })
      } catch {
        // best effort: the dying server may still be writing its files
      }
    },
  }
  running.add(redis)

  try {
    spawnServer()
    await waitReady()
  } catch (err) {
    await redis.stop()
    throw err
  }
  return redis
}

function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null
}

/**
 * True once the server on `port` answers PING and is our process: after a restart another
 * server could have taken the port, so the INFO reply's process_id must match `pid`.
 */
function answers(port: number, pid: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, HOST)
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1_000, () => done(false))
    socket.on('error', () => done(false))
    socket.on('close', () => done(false))
    socket.on('connect', () => socket.write('PING\r\nINFO server\r\n'))
    socket.on('data', (d) => {
      reply += d
      if (reply.includes('\r\n') && !reply.startsWith('+PONG\r\n')) return done(false) // e.g. -LOADING
      const match = /\r\nprocess_id:(\d+)\r\n/.exec(reply)
      if (match) done(Number(match[1]) === pid)
    })
  })
}
