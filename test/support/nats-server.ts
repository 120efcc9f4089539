import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll } from 'vitest'
import { freePort } from './process.js'

export interface PrivateNats {
  /** `nats://127.0.0.1:<port>` */
  url: string
  output(): string
  /** Crashes the server (SIGKILL) and waits until it is gone. */
  kill(): Promise<void>
  /** Starts it again on the same port and store directory: the stream and its messages survive. */
  restart(): Promise<void>
  /** Shuts it down and removes its directory. */
  stop(): Promise<void>
}

const HOST = '127.0.0.1'
const WAIT_MS = 10_000

const running = new Set<PrivateNats>()
afterAll(async () => {
  await Promise.all([...running].map((n) => n.stop()))
})

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, HOST)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })

/** Starts a private `nats-server -js` of the test's own, with its store in a fresh directory, which it may kill and restart. */
export async function startNatsServer(): Promise<PrivateNats> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nats-server-'))
  const port = await freePort()
  const args = ['-js', '-a', HOST, '-p', String(port), '-sd', dir]
  let output = ''
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()

  async function start() {
    output += `--- nats-server ${args.join(' ')}\n`
    const c = spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    c.stdout!.on('data', (d) => (output += d))
    c.stderr!.on('data', (d) => (output += d))
    exited = new Promise<void>((resolve) => {
      c.once('exit', () => resolve())
      c.once('error', (err) => {
        output += `${err.message}\n`
        resolve()
      })
    })
    child = c
    const deadline = Date.now() + WAIT_MS
    while (!(output.includes('Server is ready') && (await accepts(port)))) {
      if (c.exitCode !== null || Date.now() > deadline) throw new Error(`nats-server did not start:\n${output}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async function kill() {
    child?.kill('SIGKILL')
    await exited
    child = undefined
  }

  await start()
  const nats: PrivateNats = {
    url: `nats://${HOST}:${port}`,
    output: () => output,
    kill,
    restart: async () => {
      await kill()
      await start()
    },
    stop: async () => {
      running.delete(nats)
      await kill()
      await rm(dir, { recursive: true, force: true })
    },
  }
  running.add(nats)
  return nats
}
