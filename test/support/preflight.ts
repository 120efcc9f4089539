import { execFileSync } from 'node:child_process'
import { accessSync, constants, readdirSync } from 'node:fs'
import { Socket } from 'node:net'
import pg from 'pg'
import { CHROMIUM, POSTGRES_URL, REDIS_URL } from './machine.js'

/**
 * Runs once before any test file: everything the suite needs from the machine is there, else the
 * run stops at once with one line per missing piece and the command that brings it, instead of
 * failing test after test. `npm run test:fast` (TEST_STORES=embedded) needs none of it.
 */
export async function setup() {
  if (process.env.TEST_STORES === 'embedded') return
  const missing = (await Promise.all(CHECKS.map(async ({ what, lacks }) => ((fix) => fix && `  ${what}: ${fix}`)(await lacks())))).filter(
    (line) => line !== undefined,
  )
  if (missing.length === 0) return
  process.stderr.write(
    `\nThe test suite needs what this machine lacks:\n${missing.join('\n')}\n` +
      'npm run test:fast runs the embedded-store tests without any of it.\n\n',
  )
  process.exit(1)
}

/** Each piece of the machine the suite uses, and how to bring it when it is not there. */
const CHECKS: { what: string; lacks: () => string | undefined | Promise<string | undefined> }[] = [
  {
    what: `PostgreSQL at ${new URL(POSTGRES_URL).host}`,
    lacks: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 })
      try {
        await client.connect()
        await client.query('select 1')
        return undefined
      } catch (error) {
        const { hostname, port } = new URL(POSTGRES_URL)
        const database = new URL(POSTGRES_URL).pathname.slice(1)
        if ((error as { code?: string }).code === '3D000') {
          return `create the database: psql -h ${hostname} -p ${port || 5432} -U postgres -c 'create database ${database}'`
        }
        if (!onPath('pg_ctlcluster')) return 'apt-get install -y postgresql, then start it: pg_ctlcluster <version> main start'
        return `start it: pg_ctlcluster ${postgresVersion()} main start (or set TEST_DATABASE_URL)`
      } finally {
        await client.end().catch(() => undefined)
      }
    },
  },
  {
    what: `Redis at ${new URL(REDIS_URL).host}`,
    lacks: async () => {
      if (await answersPing(new URL(REDIS_URL))) return undefined
      if (!onPath('redis-server')) return 'apt-get install -y redis-server, then start it: redis-server --daemonize yes'
      return 'start it: redis-server --daemonize yes (or set TEST_REDIS_URL)'
    },
  },
  {
    what: 'redis-server and redis-cli (the cluster and fault tests start their own)',
    lacks: () => (onPath('redis-server') && onPath('redis-cli') ? undefined : 'apt-get install -y redis-server'),
  },
  {
    what: 'nats-server (the event tests start their own)',
    lacks: () => (onPath('nats-server') ? undefined : 'apt-get install -y nats-server'),
  },
  {
    what: `Chromium at ${CHROMIUM}`,
    lacks: () => {
      try {
        accessSync(CHROMIUM, constants.X_OK)
        return undefined
      } catch {
        return 'apt-get install -y chromium (or set CHROMIUM_PATH)'
      }
    },
  },
]

function onPath(binary: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** The installed PostgreSQL major version as Debian's postgresql-common lays it out, if it can tell. */
function postgresVersion(): string {
  try {
    return readdirSync('/etc/postgresql')[0] ?? '<version>'
  } catch {
    return '<version>'
  }
}

/** Whether a Redis answers PING on this address within 2 s. */
function answersPing(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(2000, () => done(false))
    socket.once('error', () => done(false))
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')))
    socket.connect(Number(url.port || 6379), url.hostname, () => socket.write('PING\r\n'))
  })
}
