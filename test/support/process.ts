import { type ChildProcess, spawn } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

export async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface ServerProcess {
  child: ChildProcess
  url: string
  output(): string
  /** Resolves with the exit code. */
  exited: Promise<number | null>
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * Starts `npm start`'s command as a real process and waits until it answers /health. With
 * `terminal`, its stdout is a terminal, as for a person who runs it (script(1) gives it one).
 */
export async function startServer(
  env: Record<string, string>,
  timeoutMs = 45_000,
  nodeArgs: string[] = [],
  { terminal = false } = {},
): Promise<ServerProcess> {
  const port = await freePort()
  const command = [process.execPath, ...nodeArgs, '--import', 'tsx', 'src/server.ts']
  // Test deployments share the machine's Redis: each keeps to keys of its own, named after its schema.
  const schema = env.DATABASE_URL && /search_path=(\w+)/.exec(decodeURIComponent(env.DATABASE_URL))?.[1]
  if (env.REDIS_URL && schema && !env.REDIS_PREFIX) env = { ...env, REDIS_PREFIX: `sd:${schema}:` }
  const quoted = command.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ')
  const [file, args] = terminal ? ['script', ['-qec', `exec ${quoted}`, '/dev/null']] : [command[0]!, command.slice(1)]
  const child = spawn(file, args, {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: [terminal ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  const server: ServerProcess = {
    child,
    url,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return exited
      // On a terminal, Ctrl-C: the terminal sends SIGINT to the server itself (a signal to
      // script(1) would not reach it).
      if (terminal) child.stdin!.write('\x03')
      else child.kill(signal)
      return exited
    },
  }
  const deadline = Date.now() + timeoutMs
  let gone = false
  void exited.then(() => (gone = true))
  while (Date.now() < deadline && !gone) {
    try {
      const res = await fetch(`${url}/health`)
      if (res.ok) return server
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  await server.stop('SIGKILL')
  throw new Error(`server did not start:\n${output}`)
}

/** Runs the server expecting it to exit at once (bad configuration). */
export async function runServerToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  return { code, output }
}
