import { inspect } from 'node:util'
import { buildApp } from './app.js'
import { type Config, ConfigError, loadConfig } from './config.js'
import { isInMemory } from './platform/data-dir.js'
import { redactor, redactUrlPasswords } from './platform/redact.js'

/** What every line stagedoor writes goes through: no secret value, no URL password. */
let redact = redactUrlPasswords

async function main() {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    console.error(redact(err.message))
    process.exit(1)
  }
  redact = redactor(config.secretValues)

  // A person at a terminal reads lines; a log collector reads JSON.
  const pretty = process.stdout.isTTY ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}
  const logger = { level: config.logLevel, hooks: { streamWrite: redact }, ...pretty }
  const app = await buildApp({ config, logger })
  // Shutdown (the handlers are in place before anything is served or shown, so a signal is never
  // missed): /ready turns 503 at once while requests are still served, so load balancers stop
  // sending; then no new requests, those in flight finish within the grace period, and exit 0.
  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    app.drain()
    app.log.info({ signal, delayMs: config.shutdownDelayMs }, 'shutting down: /ready answers 503')
    await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs))
    const force = setTimeout(() => {
      app.log.warn('requests still in flight at the end of the grace period; exiting')
      process.exit(0)
    }, config.shutdownGraceMs)
    force.unref()
    try {
      await app.close()
      process.exit(0)
    } catch (err) {
      app.log.error({ err }, 'error during shutdown')
      process.exit(1)
    }
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
  await app.listen({ port: config.port, host: config.host })

  const store = config.databaseUrl ? 'PostgreSQL' : `PGlite in ${isInMemory(config.dataDir) ? 'memory' : config.dataDir}`
  // Who can sign in is the first thing to check on a deployment that went live.
  const identity = config.identity?.issuer ?? 'none (demo tokens only)'
  app.log.info({ database: store, queue: config.redisUrl ? 'redis' : 'database', signup: config.signup, identity }, 'stagedoor ready')
  // The admin key itself goes to a person at a terminal, on the start that made it, and never
  // into the log (where a collector would keep it); the log says where to read it.
  if (config.adminKeyCreated && process.stdout.isTTY) {
    process.stdout.write(`admin key (X-Admin-Key): ${config.adminKey}${config.adminKeyFile ? `, kept in ${config.adminKeyFile}` : ''}\n`)
  } else if (config.adminKeyFile) {
    app.log.info(`admin key (X-Admin-Key): in ${config.adminKeyFile}`)
  } else if (config.adminKeyCreated) {
    app.log.warn('admin key (X-Admin-Key): made for this process and not shown, as stdout is not a terminal; set ADMIN_KEY')
  }
}

main().catch((err: unknown) => {
  console.error(redact(`stagedoor failed to start: ${inspect(err)}`))
  process.exit(1)
})
