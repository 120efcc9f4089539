import { buildApp } from './app.js'
import { type Config, ConfigError, loadConfig } from './config.js'
import { isInMemory } from './platform/db/database.js'

const SHUTDOWN_GRACE_MS = 10_000

async function main() {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    console.error(err.message)
    process.exit(1)
  }

  const app = await buildApp({
    config,
    logger: { level: config.logLevel },
  })
  await app.listen({ port: config.port, host: config.host })

  const store = config.databaseUrl ? 'PostgreSQL' : `PGlite in ${isInMemory(config.dataDir) ? 'memory' : config.dataDir}`
  app.log.info({ database: store, waitingRoom: config.redisUrl ? 'redis' : 'database' }, 'stagedoor ready')
  if (config.adminKeyGenerated) {
    app.log.info(`admin key (X-Admin-Key): ${config.adminKey}`)
  }

  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down: finishing requests in flight')
    const force = setTimeout(() => {
      app.log.error('shutdown took too long; exiting')
      process.exit(1)
    }, SHUTDOWN_GRACE_MS)
    force.unref()
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'error during shutdown')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
}

main().catch((err: unknown) => {
  console.error('stagedoor failed to start:', err)
  process.exit(1)
})
