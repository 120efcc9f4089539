import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import rateLimit from '@fastify/rate-limit'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import underPressure from '@fastify/under-pressure'
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
import { AppError } from './platform/errors.js'
import { healthRoutes, metricsRoute } from './platform/http/health.js'
import { registerOpenApi } from './platform/http/openapi.js'
import { clientErrorHandler, frameworkErrors, installErrorHandling } from './platform/http/problems.js'
import { requestLoggers } from './platform/http/request-logger.js'
import { checkPathAndQuery, parseJsonBody, requestIdOf, validatorCompilers } from './platform/http/requests.js'
import { API_HEADERS } from './platform/http/security-headers.js'
import type { App } from './platform/http/types.js'
import { Metrics } from './platform/metrics.js'
import { Periodic } from './platform/periodic.js'
import { connectRedis, type RedisClient } from './platform/redis/client.js'
import { TokenSigner } from './platform/signer.js'
import { DbUsedSolutions, JoinChallenges, RedisUsedSolutions } from './queue/challenges.js'
import { DbQueueStore } from './queue/db-store.js'
import { OwedEnds } from './queue/owed-ends.js'
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
import { IdpTokens } from './users/idp-tokens.js'
import { UserRepository } from './users/repository.js'
import { userRoutes } from './users/routes.js'
import { UserService } from './users/service.js'
import { WalletRepository } from './wallet/repository.js'
import { walletRoutes } from './wallet/routes.js'
import { WalletService } from './wallet/service.js'
import { webRoutes } from './web/routes.js'

/** How often expired holds and old idempotency keys are tidied (never needed for correctness). */
const HOUSEKEEPING_MS = 5000
/** How often token ends owed by payments are looked for (after a dead process or a store outage). */
const OWED_ENDS_MS = 1000
const OVERLOAD_RETRY_AFTER_S = 2

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
  usedSolutions: RedisUsedSolutions | DbUsedSolutions
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
    /** The first step of a shutdown: /ready answers 503 while requests are still served. */
    drain(): void
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
function compose(
  config: Config,
  clock: Clock,
  database: DatabaseHandle,
  redis: RedisClient | undefined,
  metrics: Metrics,
  redisPrefix?: string,
): Components {
  const { db } = database
  const local = new LocalCache(clock, metrics)
  const cache: Cache = redis ? new RedisCache(redis, clock, metrics, redisPrefix) : local
  const signer = new TokenSigner(config.authSecret, clock)
  const userRepository = new UserRepository(db)
  const idp =
    config.identity &&
    new IdpTokens(config.identity, userRepository, clock, (seconds, failed) => metrics.dependency('jwks', seconds, failed))
  const accessTokens = new AccessTokens(signer, config.signup === 'open', idp)
  // A claim outlives any live request: its database and Redis waits are bounded.
  const idempotency = new IdempotencyService(db, clock, 4 * config.dbTimeoutMs + 2 * config.redisTimeoutMs)

  // A new schedule's seats are made by the reservation component, which owns them.
  const reservationRepository = new ReservationRepository(db)
  const catalogRepository = new CatalogRepository(db)
  // The catalog marks sold-out concerts by what the reservation component has left to sell; that
  // component reads the catalog, so it is built after it and reached through this function.
  let reservations: ReservationService | undefined
  const inventory = (concertId: string) => reservations!.inventory(concertId)
  const catalog = new CatalogService(
    catalogRepository,
    reservationRepository,
    async (concertId) => (await inventory(concertId)).soldOut,
    clock,
    cache,
    local,
  )
  const queueStore: QueueStore = redis ? new RedisQueueStore(redis, redisPrefix) : new DbQueueStore(db)
  const usedSolutions = redis ? new RedisUsedSolutions(redis, redisPrefix) : new DbUsedSolutions(db, clock)
  const queue = new QueueService(
    queueStore,
    new QueueSettingsService(db, config.queue, clock),
    { get: (id) => catalog.concert(id), list: () => catalog.concerts() },
    new QueueTokens(signer),
    new OwedEnds(db),
    inventory,
    new JoinChallenges(config.authSecret, usedSolutions, clock),
    clock,
    local,
  )
  reservations = new ReservationService(reservationRepository, catalog, queue, idempotency, clock, config, cache, metrics)
  metrics.readQueueFiguresWith(() => queue.figuresOfOpenConcerts())
  return {
    config,
    clock,
    database,
    redis,
    metrics,
    signer,
    accessTokens,
    users: new UserService(userRepository, accessTokens, clock, config.signup),
    catalogRepository,
    catalog,
    queueStore,
    usedSolutions,
    queue,
    reservations,
    wallet: new WalletService(new WalletRepository(db), idempotency, clock),
    idempotency,
    payments: new PaymentService(new PaymentRepository(db), queue, reservations, idempotency, clock, metrics),
  }
}

/**
 * Migrations and demo data may take longer than a request may wait: on PostgreSQL they get a
 * connection of their own, without the requests' bounds.
 */
const MIGRATION_TIMEOUT_MS = 120_000

async function prepareDatabase(config: Config, database: DatabaseHandle, work: (db: Db) => Promise<void>) {
  if (database.kind !== 'postgres') return work(database.db)
  const own = openDatabase({ ...config, poolSize: 1, timeoutMs: MIGRATION_TIMEOUT_MS })
  try {
    await work(own.db)
  } finally {
    await own.close()
  }
}

/** Builds the whole app: stores opened and migrated, components composed, routes registered. */
export async function buildApp({
  config,
  clock = systemClock,
  logger = false,
  backgroundLoops = true,
  redisPrefix,
}: AppOptions): Promise<App> {
  const metrics = new Metrics()
  const database = openDatabase({
    ...config,
    timeoutMs: config.dbTimeoutMs,
    observe: (seconds, failed) => metrics.dependency('database', seconds, failed),
  })
  let redis: RedisClient | undefined
  let components: Components
  try {
    await prepareDatabase(config, database, async (db) => {
      await migrateDatabase(db)
      if (config.demoData) {
        const repository = new CatalogRepository(db)
        const local = new LocalCache(clock, metrics)
        const catalog = new CatalogService(repository, new ReservationRepository(db), async () => false, clock, local, local)
        await seedDemoData(repository, catalog, clock)
      }
    })
    if (config.redisUrl) {
      redis = await connectRedis(config.redisUrl, config.redisTimeoutMs, (seconds, failed) => metrics.dependency('redis', seconds, failed))
    }
    components = compose(config, clock, database, redis, metrics, redisPrefix)
  } catch (err) {
    redis?.disconnect()
    await database.close()
    throw err
  }
  const { queue, reservations, idempotency } = components

  const app = Fastify({
    logger,
    // Request loggers bind the request id when they first log, not on every request.
    ...(logger ? { childLoggerFactory: requestLoggers } : {}),
    requestIdHeader: false,
    genReqId: requestIdOf,
    bodyLimit: 64 * 1024,
    // A request's headers and body must arrive within REQUEST_TIMEOUT_MS; the server looks for
    // late ones every second, so a trickling client is cut within a second of its deadline.
    serverFactory: (handler) =>
      createServer(
        { requestTimeout: config.requestTimeoutMs, headersTimeout: config.requestTimeoutMs, connectionsCheckingInterval: 1000 },
        handler,
      ),
    clientErrorHandler,
    frameworkErrors,
    // Whom to believe about the client's address (X-Forwarded-For): no one unless configured.
    trustProxy: config.trustProxy,
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>()
  const lifecycle = { draining: false, closing: false }
  app.decorate('drain', () => {
    lifecycle.draining = true
  })
  app.setValidatorCompiler(validatorCompilers())
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody)
  app.addHook('preValidation', checkPathAndQuery)
  app.addHook('onResponse', (request, reply, done) => {
    metrics.request(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000)
    done()
  })
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(API_HEADERS).header('x-request-id', request.id)
    if (lifecycle.closing) {
      reply.header('connection', 'close')
      return done(new AppError('SHUTTING_DOWN', 'this process is shutting down; retry'))
    }
    done()
  })
  await app.register(underPressure, {
    maxEventLoopDelay: config.overloadLagMs,
    pressureHandler: async (_request, reply) => {
      reply.header('retry-after', OVERLOAD_RETRY_AFTER_S)
      throw new AppError('OVERLOADED', 'the service is overloaded; retry shortly')
    },
  })
  const loops = [
    new Periodic(
      () => queue.tickPeriodMs(),
      () => queue.tick(),
      (err) => app.log.warn({ err }, 'admission tick failed'),
    ),
    new Periodic(
      () => OWED_ENDS_MS,
      () => queue.settleOwedEnds(),
      (err) => app.log.warn({ err }, 'ending paid tokens failed'),
    ),
    new Periodic(
      () => HOUSEKEEPING_MS,
      async () => {
        await reservations.sweep()
        await idempotency.sweep()
        if (components.usedSolutions instanceof DbUsedSolutions) await components.usedSolutions.sweep()
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
    lifecycle.draining = true
    lifecycle.closing = true
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
  // Limits are per route (perMinute); they count in Redis when there is one, so they hold across
  // processes, and they let requests through if Redis does not answer.
  await app.register(rateLimit, {
    global: false,
    ...(redis ? { redis, nameSpace: `${redisPrefix ?? 'sd:'}rate:` } : {}),
    skipOnError: true,
    // The limit is told when it refuses (429, Retry-After and the RateLimit headers), not on every answer.
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', `too many requests; retry in ${context.after}`, { retryAfterSeconds: Math.ceil(context.ttl / 1000) }),
  })
  const { adminKey, holdTtlS, holdMaxPerUser, rateLimits } = config
  const { accessTokens } = components
  healthRoutes(app, {
    db: database.db,
    redis,
    draining: () => lifecycle.draining,
    timeoutMs: Math.max(config.dbTimeoutMs, config.redisTimeoutMs),
  })
  metricsRoute(app, { metrics: components.metrics, adminKey })
  userRoutes(app, { users: components.users, signupPerMin: rateLimits.signupPerMin })
  catalogRoutes(app, { catalog: components.catalog, adminKey, ticketsPerUser: config.ticketsPerUser })
  queueRoutes(app, { queue, accessTokens, adminKey, joinPerMin: rateLimits.joinPerMin })
  reservationRoutes(app, { reservations, queue, accessTokens, holdTtlS, holdMaxPerUser, holdPerMin: rateLimits.holdPerMin, adminKey })
  walletRoutes(app, components)
  paymentRoutes(app, components)
  await webRoutes(app)
  return app
}
