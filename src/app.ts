import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import Fastify, { type FastifyServerOptions } from 'fastify'
import { seedDemoData } from './catalog/demo.js'
import { CatalogRepository } from './catalog/repository.js'
import { catalogRoutes } from './catalog/routes.js'
import { CatalogService } from './catalog/service.js'
import type { Config } from './config.js'
import { IdempotencyService } from './idempotency/service.js'
import { PaymentRepository } from './payment/repository.js'
import { paymentRoutes } from './payment/routes.js'
import { PaymentService } from './payment/service.js'
import { type Cache, LocalCache } from './platform/cache/cache.js'
import { RedisCache } from './platform/cache/redis-cache.js'
import { type Clock, systemClock } from './platform/clock.js'
import { type DatabaseHandle, type Db, openDatabase } from './platform/db/database.js'
import { migrateToLatest } from './platform/db/migrate.js'
import { healthRoutes, metricsRoute } from './platform/http/health.js'
import { registerOpenApi } from './platform/http/openapi.js'
import { installErrorHandling } from './platform/http/problems.js'
import type { App } from './platform/http/types.js'
import { Metrics } from './platform/metrics.js'
import { Periodic } from './platform/periodic.js'
import { connectRedis, type RedisClient } from './platform/redis/client.js'
import { TokenSigner } from './platform/signer.js'
import { DbQueueStore } from './queue/db-store.js'
import { RedisQueueStore } from './queue/redis-store.js'
import { queueRoutes } from './queue/routes.js'
import { QueueService } from './queue/service.js'
import { QueueSettingsService } from './queue/settings.js'
import type { QueueStore } from './queue/store.js'
import { QueueTokens } from './queue/tokens.js'
import { ReservationRepository } from './reservation/repository.js'
import { reservationRoutes } from './reservation/routes.js'
import { ReservationService } from './reservation/service.js'
import { AccessTokens } from './users/access-tokens.js'
import { userRoutes } from './users/routes.js'
import { UserService } from './users/service.js'
import { WalletRepository } from './wallet/repository.js'
import { walletRoutes } from './wallet/routes.js'
import { WalletService } from './wallet/service.js'

/** How often expired holds and old idempotency keys are tidied (never needed for correctness). */
const HOUSEKEEPING_MS = 5000

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

/** The folders of database functions, one `.sql` file each, applied at every start. */
const FUNCTION_DIRS = ['queue', 'reservation', 'wallet', 'payment'].map((c) => new URL(`./${c}/sql/`, import.meta.url))

/** Brings a database to the current tables and functions. */
export const migrateDatabase = (db: Db) => migrateToLatest(db, FUNCTION_DIRS)

/** The app's parts, built once from the config and its backing stores. */
interface Components {
  config: Config
  clock: Clock
  database: DatabaseHandle
  redis: RedisClient | undefined
  metrics: Metrics
  signer: TokenSigner
  accessTokens: AccessTokens
  users: UserService
  catalogRepository: CatalogRepository
  catalog: CatalogService
  queueStore: QueueStore
  queue: QueueService
  reservations: ReservationService
  wallet: WalletService
  idempotency: IdempotencyService
  payments: PaymentService
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's parts, for tests that inspect state or drive the admission loop by hand. */
    components: Components
  }
}

export interface AppOptions {
  config: Config
  clock?: Clock
  logger?: FastifyServerOptions['logger']
  /** Run the admission and housekeeping loops (default). Tests with a hand-moved clock drive them. */
  backgroundLoops?: boolean
  /** Prefix of every Redis key (default `sd:`). */
  redisPrefix?: string
}

/**
 * The composition root: every component gets what it needs here, by construction. No component
 * imports this file.
 */
function compose(config: Config, clock: Clock, database: DatabaseHandle, redis: RedisClient | undefined, redisPrefix?: string): Components {
  const { db } = database
  const metrics = new Metrics()
  const local = new LocalCache(clock, metrics)
  const cache: Cache = redis ? new RedisCache(redis, clock, metrics, redisPrefix) : local
  const signer = new TokenSigner(config.authSecret, clock)
  const accessTokens = new AccessTokens(signer)
  const idempotency = new IdempotencyService(db, clock)

  // A new schedule's seats are made by the reservation component, which owns them.
  const reservationRepository = new ReservationRepository(db)
  const catalogRepository = new CatalogRepository(db)
  const catalog = new CatalogService(catalogRepository, reservationRepository, clock, cache, local)
  const queueStore: QueueStore = redis ? new RedisQueueStore(redis, redisPrefix) : new DbQueueStore(db)
  const queue = new QueueService(
    queueStore,
    new QueueSettingsService(db, config.queue, clock),
    { get: (id) => catalog.concert(id), list: () => catalog.concerts() },
    new QueueTokens(signer),
    clock,
    local,
  )
  const reservations = new ReservationService(reservationRepository, catalog, queue, clock, config, cache)
  return {
    config,
    clock,
    database,
    redis,
    metrics,
    signer,
    accessTokens,
    users: new UserService(db, accessTokens, clock),
    catalogRepository,
    catalog,
    queueStore,
    queue,
    reservations,
    wallet: new WalletService(new WalletRepository(db), idempotency, clock),
    idempotency,
    payments: new PaymentService(new PaymentRepository(db), queue, reservations, idempotency, clock),
  }
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
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) => (httpPart === 'body' ? body : text).compile(schema)
}

/** Builds the whole app: stores opened and migrated, components composed, routes registered. */
export async function buildApp({
  config,
  clock = systemClock,
  logger = false,
  backgroundLoops = true,
  redisPrefix,
}: AppOptions): Promise<App> {
  const database = openDatabase(config)
  let redis: RedisClient | undefined
  let components: Components
  try {
    await migrateDatabase(database.db)
    if (config.redisUrl) redis = await connectRedis(config.redisUrl)
    components = compose(config, clock, database, redis, redisPrefix)
    if (config.demoData) await seedDemoData(components.catalogRepository, components.catalog, clock)
  } catch (err) {
    redis?.disconnect()
    await database.close()
    throw err
  }
  const { queue, reservations, idempotency } = components

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
  const loops = [
    new Periodic(
      () => queue.tickPeriodMs(),
      () => queue.tick(),
      (err) => app.log.warn({ err }, 'admission tick failed'),
    ),
    new Periodic(
      () => HOUSEKEEPING_MS,
      async () => {
        await reservations.sweep()
        await idempotency.sweep()
      },
      (err) => app.log.warn({ err }, 'housekeeping failed'),
    ),
  ]
  if (backgroundLoops) {
    app.addHook('onReady', async () => {
      for (const loop of loops) loop.start()
    })
  }
  // Stop the loops, then let requests in flight finish, then close the stores.
  app.addHook('preClose', async () => {
    await Promise.all(loops.map((l) => l.stop()))
  })
  app.addHook('onClose', async () => {
    await redis?.quit().catch(() => redis?.disconnect())
    await database.close()
  })
  app.decorate('components', components)
  // Declared up front, so every request object keeps one shape on the hot paths.
  app.decorateRequest('userId', '')
  app.decorateRequest('queueClaims', undefined)

  installErrorHandling(app)
  await registerOpenApi(app, version)
  const { adminKey, holdTtlS, holdMaxPerUser } = config
  const { accessTokens } = components
  healthRoutes(app, { db: database.db, redis })
  metricsRoute(app, { metrics: components.metrics, adminKey })
  userRoutes(app, components)
  catalogRoutes(app, { catalog: components.catalog, adminKey })
  queueRoutes(app, { queue, accessTokens, adminKey })
  reservationRoutes(app, { reservations, queue, accessTokens, holdTtlS, holdMaxPerUser })
  walletRoutes(app, components)
  paymentRoutes(app, components)
  return app
}
