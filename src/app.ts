import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import Fastify, { type FastifyServerOptions } from 'fastify'
import { seedDemoData } from './catalog/demo.js'
import { catalogRoutes } from './catalog/routes.js'
import type { Config } from './config.js'
import { openDatabase } from './db/database.js'
import { migrateToLatest } from './db/migrate.js'
import { installErrorHandling } from './http/errors.js'
import { healthRoutes, metricsRoute } from './http/health.js'
import { registerOpenApi } from './http/openapi.js'
import type { App } from './http/types.js'
import { createServices, type Services } from './services.js'
import { type Clock, systemClock } from './shared/clock.js'
import { paymentRoutes } from './payment/routes.js'
import { AdmissionLoop } from './queue/loop.js'
import { queueRoutes } from './queue/routes.js'
import { connectRedis, type RedisClient } from './redis/client.js'
import { reservationRoutes } from './reservation/routes.js'
import { Periodic } from './shared/periodic.js'
import { userRoutes } from './users/routes.js'
import { walletRoutes } from './wallet/routes.js'

/** How often expired holds and old idempotency keys are tidied (never needed for correctness). */
const HOUSEKEEPING_MS = 5000

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's services, for its own plugins and for tests that inspect state. */
    services: Services
    admissionLoop: AdmissionLoop
  }
}

export interface AppOptions {
  config: Config
  clock?: Clock
  logger?: FastifyServerOptions['logger']
  /** Run the admission loop (default). Tests with a hand-moved clock drive it themselves. */
  backgroundLoops?: boolean
  /** Prefix of every Redis key (default `sd:`). */
  redisPrefix?: string
}

/**
 * JSON bodies are strict: no type coercion ("100" is not a number) and unknown properties are
 * refused. Query strings and path parameters are text, so there numbers are parsed.
 */
function validatorCompilers() {
  const body = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false, strict: false })
  const text = new Ajv({ coerceTypes: 'array', removeAdditional: false, useDefaults: true, allErrors: false, strict: false })
  addFormats.default(body)
  addFormats.default(text)
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? body : text).compile(schema)
}

/** Builds the whole app: stores opened and migrated, routes registered, ready to listen. */
export async function buildApp({
  config,
  clock = systemClock,
  logger = false,
  backgroundLoops = true,
  redisPrefix,
}: AppOptions): Promise<App> {
  const database = openDatabase(config)
  let redis: RedisClient | undefined
  let services: Services
  try {
    await migrateToLatest(database.db)
    if (config.redisUrl) redis = await connectRedis(config.redisUrl)
    services = createServices(config, clock, { database, redis, redisPrefix })
    if (config.demoData) await seedDemoData(database.db, services.catalog, clock)
  } catch (err) {
    redis?.disconnect()
    await database.close()
    throw err
  }

  const app = Fastify({
    logger,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    bodyLimit: 64 * 1024,
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(validatorCompilers())
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })
  const admission = new AdmissionLoop(services.waitingRoomStore, services.queueSettings, services.catalog, services.waitingRoom, clock)
  app.decorate('admissionLoop', admission)
  const { reservations, idempotency } = services
  const loops = [
    new Periodic(() => admission.periodMs(), () => admission.runOnce(), (err) => app.log.warn({ err }, 'admission tick failed')),
    new Periodic(
      () => HOUSEKEEPING_MS,
      async () => {
        await reservations.sweep()
        await idempotency.sweep()
      },
      (err) => app.log.warn({ err }, 'housekeeping failed'),
    ),
  ]
  if (backgroundLoops) app.addHook('onReady', async () => loops.forEach((l) => l.start()))
  // Stop the loops, then let requests in flight finish, then close the stores.
  app.addHook('preClose', async () => {
    await Promise.all(loops.map((l) => l.stop()))
  })
  app.addHook('onClose', async () => {
    await redis?.quit().catch(() => redis?.disconnect())
    await database.close()
  })
  app.decorate('services', services)
  // Declared up front, so every request object keeps one shape on the hot paths.
  app.decorateRequest('userId', '')
  app.decorateRequest('queueClaims', undefined)

  installErrorHandling(app)
  await registerOpenApi(app, version)
  healthRoutes(app, services)
  metricsRoute(app, services)
  userRoutes(app, services)
  catalogRoutes(app, services)
  queueRoutes(app, services)
  reservationRoutes(app, services)
  walletRoutes(app, services)
  paymentRoutes(app, services)
  return app
}
