import { readFileSync } from 'node:fs'
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'
import { seedDemoData } from './catalog/demo.js'
import { CatalogRepository } from './catalog/repository.js'
import { catalogRoutes } from './catalog/routes.js'
import { CatalogService } from './catalog/service.js'
import type { Config } from './config.js'
import { openApiWebhooks } from './events/catalogue.js'
import { eventLoops, installEvents } from './events/install.js'
import { NatsPublisher } from './events/nats.js'
import { eventRoutes } from './events/routes.js'
import { Events } from './events/service.js'
import type { Resolve } from './events/targets.js'
import { IdempotencyService } from './idempotency/service.js'
import { Inventory } from './inventory/service.js'
import { RefundService } from './payment/refunds.js'
import { PaymentRepository } from './payment/repository.js'
import { paymentRoutes } from './payment/routes.js'
import { PaymentService } from './payment/service.js'
import { AnnouncedCache } from './platform/cache/announced-cache.js'
import { type Cache, LocalCache } from './platform/cache/cache.js'
import { RedisCache } from './platform/cache/redis-cache.js'
import { type Clock, systemClock } from './platform/clock.js'
import { type DatabaseHandle, type Db, openDatabase } from './platform/db/database.js'
import { migrateToLatest } from './platform/db/migrate.js'
import { type Hearer, type Listening, listen, notify } from './platform/db/notifications.js'
import { registerCompression } from './platform/http/compression.js'
import { healthRoutes, installRequestMetrics, metricsRoutes } from './platform/http/health.js'
import { installLifecycle, type Lifecycle } from './platform/http/lifecycle.js'
import { registerOpenApi } from './platform/http/openapi.js'
import { installOverloadProtection } from './platform/http/overload.js'
import { installErrorHandling } from './platform/http/problems.js'
import { installRateLimits } from './platform/http/rate-limits.js'
import { installRequestHandling } from './platform/http/requests.js'
import { createHttpApp } from './platform/http/server.js'
import type { App } from './platform/http/types.js'
import { Metrics } from './platform/metrics.js'
import { housekeeping, installLoops, type Loop } from './platform/periodic.js'
import { connectRedis, type RedisClient } from './platform/redis/client.js'
import { TokenSigner } from './platform/signer.js'
import { presaleRoutes } from './presale/routes.js'
import { PresaleCodes } from './presale/service.js'
import { BookingHealth } from './queue/booking-health.js'
import { DbUsedSolutions, JoinChallenges, RedisUsedSolutions, type UsedSolutions } from './queue/challenges.js'
import { DbQueueStore } from './queue/db-store.js'
import { QueueGate } from './queue/gate.js'
import { OwedEnds } from './queue/owed-ends.js'
import { RedisQueueStore } from './queue/redis-store.js'
import { queueRoutes } from './queue/routes.js'
import { QueueService } from './queue/service.js'
import { QueueSettingsService, SETTINGS_CHANGED_CHANNEL } from './queue/settings.js'
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

/** How often expired holds, old idempotency keys and used challenge solutions are tidied (never needed for correctness). */
const HOUSEKEEPING_MS = 5000
/** How often token ends owed by payments are looked for (after a dead process or a store outage). */
const OWED_ENDS_MS = 1000
/** How often the dates being cancelled are looked for (a run then works through batches for a while). */
const CANCELLATIONS_MS = 500

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

/** The folders of database functions, one `.sql` file each, applied at every start. */
const FUNCTION_DIRS = ['events', 'idempotency', 'catalog', 'queue', 'presale', 'reservation', 'wallet', 'payment'].map(
  (c) => new URL(`./${c}/sql/`, import.meta.url),
)

/** Brings a database to the current tables and functions. */
export const migrateDatabase = (db: Db) => migrateToLatest(db, FUNCTION_DIRS)

/** What the app runs on: its config, clock, metrics and log, and its opened stores. */
interface Stores {
  config: Config
  clock: Clock
  metrics: Metrics
  /** The app's log, where background work tells what failed past its own handling. */
  log: FastifyBaseLogger
  database: DatabaseHandle
  redis: RedisClient | undefined
  /** NATS JetStream, with NATS_URL set: every event is also published there. */
  nats: NatsPublisher | undefined
  /** Prefix of every Redis key (default `sd:`). */
  redisPrefix: string | undefined
  /** How webhook host names resolve (default: the system's resolver). */
  resolve: Resolve | undefined
}

/** The app's parts, built once from the config and its backing stores. */
interface Components extends Stores {
  signer: TokenSigner
  accessTokens: AccessTokens
  users: UserService
  catalogRepository: CatalogRepository
  catalog: CatalogService
  inventory: Inventory
  presale: PresaleCodes
  queueStore: QueueStore
  usedSolutions: UsedSolutions
  queueSettings: QueueSettingsService
  gate: QueueGate
  queue: QueueService
  reservations: ReservationService
  wallet: WalletService
  idempotency: IdempotencyService
  payments: PaymentService
  refunds: RefundService
  events: Events
  /** On PostgreSQL without Redis: the shared cache, whose invalidations every process hears. */
  announcedCache: AnnouncedCache | undefined
  /**
   * On PostgreSQL: how this process hears of another's changes as they commit (queue settings;
   * without Redis, the shared cache's invalidations too), on one connection.
   */
  listening?: Listening
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
  /** Prefix of every Redis key (default: the config's, `REDIS_PREFIX`). */
  redisPrefix?: string
  /** How webhook host names resolve (default: the system's resolver). */
  resolve?: Resolve
  /** An in-memory embedded database starts from this image (`DatabaseOptions.embeddedImage`). */
  embeddedImage?: Blob
}

/** Builds the whole app: stores opened and migrated, components composed, then the HTTP side installed step by step. */
export async function buildApp({
  config,
  clock = systemClock,
  logger = false,
  backgroundLoops = true,
  redisPrefix = config.redisPrefix,
  resolve,
  embeddedImage,
}: AppOptions): Promise<App> {
  const app = createHttpApp({ logger, requestTimeoutMs: config.requestTimeoutMs, trustProxy: config.trustProxy })
  const components = await openComponents({ config, clock, metrics: new Metrics(), log: app.log, redisPrefix, resolve, embeddedImage })
  app.decorate('components', components)
  installRequestHandling(app, { userId: '', queueClaims: undefined })
  installRequestMetrics(app, components.metrics)
  const lifecycle = installLifecycle(app, () => closeStores(components))
  await installOverloadProtection(app, config.overloadLagMs)
  installLoops(app, loopsOf(components), { start: backgroundLoops })
  installEvents(app, components.events)
  installErrorHandling(app)
  // Before every route, pages and files included: it hooks each route as it is added.
  await registerCompression(app)
  await registerOpenApi(app, version, openApiWebhooks())
  await installRateLimits(app, { redis: components.redis, prefix: redisPrefix })
  await registerRoutes(app, components, lifecycle)
  return app
}

/** Opens and migrates the stores, composes the components and seeds demo data; on failure the stores close again. */
async function openComponents({
  config,
  clock,
  metrics,
  log,
  redisPrefix,
  resolve,
  embeddedImage,
}: Omit<Stores, 'database' | 'redis' | 'nats'> & Pick<AppOptions, 'embeddedImage'>): Promise<Components> {
  const observe = (dependency: 'database' | 'redis') => (seconds: number, failed: boolean) =>
    metrics.dependency(dependency, seconds, failed)
  const database = openDatabase({ ...config, timeoutMs: config.dbTimeoutMs, observe: observe('database'), embeddedImage })
  let redis: RedisClient | undefined
  let nats: NatsPublisher | undefined
  try {
    await onOwnConnection(config, database, migrateDatabase)
    if (config.redisUrl) redis = await connectRedis(config.redisUrl, config.redisTimeoutMs, observe('redis'))
    // The stream is created now if it is missing.
    if (config.natsUrl) nats = await NatsPublisher.connect(config.natsUrl)
    const components = compose({ config, clock, metrics, log, database, redis, nats, redisPrefix, resolve })
    if (config.demoData)
      await onOwnConnection(config, database, (db) =>
        seedDemoData({ repository: components.catalogRepository, catalog: components.catalog, clock }, db),
      )
    return { ...components, listening: listenForChanges(config, components) }
  } catch (err) {
    await nats?.close()
    redis?.disconnect()
    await database.close()
    throw err
  }
}

/**
 * The composition root: every component gets what it needs here, by construction, in the order
 * they depend on each other. No component imports this file.
 */
function compose(stores: Stores): Components {
  const { config, clock, metrics, database, redis, redisPrefix } = stores
  const { db } = database
  const local = new LocalCache(clock, metrics)
  const announcedCache = !redis && config.databaseUrl ? new AnnouncedCache(new LocalCache(clock, metrics), announceTo(db)) : undefined
  const shared: Cache = redis ? new RedisCache({ redis, clock, metrics, prefix: redisPrefix }) : (announcedCache ?? local)

  const signer = new TokenSigner(config.authSecret, clock)
  const userRepository = new UserRepository(db)
  const observeJwks = (seconds: number, failed: boolean) => metrics.dependency('jwks', seconds, failed)
  const idp = config.identity && new IdpTokens({ provider: config.identity, users: userRepository, clock, observeJwks })
  const accessTokens = new AccessTokens(signer, config.signup === 'open', idp)
  const users = new UserService({ users: userRepository, accessTokens, clock, signup: config.signup })
  // A claim outlives any live request: its database and Redis waits are bounded.
  const idempotency = new IdempotencyService(db, clock, 4 * config.dbTimeoutMs + 2 * config.redisTimeoutMs)

  // What is left to sell, read by catalog, queue and reservation: the catalog's dates with the
  // reservation component's seats, which it creates for each new date.
  const catalogRepository = new CatalogRepository(db)
  const reservationRepository = new ReservationRepository(db)
  const inventory = new Inventory({ dates: catalogRepository, seats: reservationRepository, cache: shared, clock })
  const catalog = new CatalogService({ repository: catalogRepository, seats: reservationRepository, inventory, clock, shared, local })

  const presale = new PresaleCodes({ db, concerts: catalog, clock })
  const queueStore: QueueStore = redis ? new RedisQueueStore(redis, redisPrefix) : new DbQueueStore(db)
  const usedSolutions = redis ? new RedisUsedSolutions(redis, redisPrefix) : new DbUsedSolutions(db, clock)
  const queueSettings = new QueueSettingsService(db, config.queue, clock)
  const queueTokens = new QueueTokens(signer)
  const gate = new QueueGate({ store: queueStore, settings: queueSettings, tokens: queueTokens, clock })
  // How holds and payments answer, which adaptive admission steers by.
  const bookingHealth = new BookingHealth(clock)
  const queue = new QueueService({
    store: queueStore,
    settings: queueSettings,
    concerts: { get: (id) => catalog.concert(id) },
    tokens: queueTokens,
    owed: new OwedEnds(db),
    inventory,
    challenges: new JoinChallenges(config.authSecret, usedSolutions, clock),
    presale,
    clock,
    local,
    health: bookingHealth,
    metrics,
  })

  const reservationParts = {
    repository: reservationRepository,
    catalog,
    inventory,
    gate,
    idempotency,
    clock,
    cache: shared,
    metrics,
    health: bookingHealth,
  }
  const reservations = new ReservationService({ ...reservationParts, settings: config })
  const wallet = new WalletService({
    repository: new WalletRepository(db),
    idempotency,
    users: userRepository,
    clock,
    charges: config.charges,
  })
  const paymentRepository = new PaymentRepository(db)
  const payments = new PaymentService({
    repository: paymentRepository,
    gate,
    queue,
    reservations,
    idempotency,
    clock,
    metrics,
    health: bookingHealth,
  })
  const refunds = new RefundService({ repository: paymentRepository, catalog, reservations, idempotency, clock })
  const parts = { signer, accessTokens, users, catalogRepository, catalog, inventory, presale, queueStore, usedSolutions, gate, queue }
  const events = new Events({ db, clock, settings: config.webhooks, metrics, resolve: stores.resolve, nats: stores.nats, log: stores.log })
  return { ...stores, ...parts, queueSettings, reservations, wallet, idempotency, payments, refunds, events, announcedCache }
}

/** The background loops. None is needed for correctness: every deadline is checked where it is read. */
function loopsOf({ queue, reservations, idempotency, usedSolutions, refunds, events }: Components): Loop[] {
  return [
    ...eventLoops(events),
    { periodMs: () => queue.tickPeriodMs(), run: () => queue.tick(), failure: 'admission tick failed' },
    // Adaptive decisions on time even while a slow database holds the admission tick up.
    { periodMs: () => queue.tickPeriodMs(), run: () => queue.adaptLive(), failure: 'adaptive decision failed' },
    { periodMs: () => OWED_ENDS_MS, run: () => queue.settleOwedEnds(), failure: 'ending paid tokens failed' },
    { periodMs: () => CANCELLATIONS_MS, run: () => refunds.runCancellations(), failure: 'cancelling a date failed' },
    housekeeping([reservations, idempotency, usedSolutions], HOUSEKEEPING_MS),
  ]
}

/** Every route module, registered the same way: `xxxRoutes(app, deps)` with the few parts it uses. */
async function registerRoutes(app: App, c: Components, { draining }: Lifecycle) {
  const { config, accessTokens, queue } = c
  const { adminKey, rateLimits } = config
  const timeoutMs = Math.max(config.dbTimeoutMs, config.redisTimeoutMs)
  await healthRoutes(app, { db: c.database.db, redis: c.redis, draining, timeoutMs })
  await metricsRoutes(app, { metrics: c.metrics, adminKey })
  await userRoutes(app, { users: c.users, signupPerMin: rateLimits.signupPerMin })
  await catalogRoutes(app, { catalog: c.catalog, adminKey, ticketsPerUser: config.ticketsPerUser })
  await queueRoutes(app, { queue, accessTokens, adminKey, joinPerMin: rateLimits.joinPerMin })
  await presaleRoutes(app, { presale: c.presale, adminKey })
  const { holdTtlS, holdMaxPerUser } = config
  await reservationRoutes(app, {
    reservations: c.reservations,
    gate: c.gate,
    accessTokens,
    holdTtlS,
    holdMaxPerUser,
    holdPerMin: rateLimits.holdPerMin,
    adminKey,
  })
  await walletRoutes(app, { wallet: c.wallet, accessTokens, adminKey })
  await paymentRoutes(app, { payments: c.payments, refunds: c.refunds, accessTokens, adminKey })
  await eventRoutes(app, { events: c.events, adminKey })
  await webRoutes(app, {})
}

/**
 * Every process reads a change of queue settings as it commits, so its wait estimates follow a new
 * rate from its next answer (the embedded database has one process, which reads its own changes).
 */
function listenForChanges(config: Config, { queueSettings, announcedCache }: Omit<Components, 'listening'>): Listening | undefined {
  if (!config.databaseUrl) return undefined
  const channels: Record<string, Hearer> = {
    [SETTINGS_CHANGED_CHANNEL]: {
      notified: (concertId) => void queueSettings.changed(concertId),
      connected: () => void queueSettings.changed(),
    },
  }
  if (announcedCache) {
    channels[CACHE_INVALIDATED_CHANNEL] = {
      notified: (keys) => void announcedCache.heard(keys.split('\n')),
      connected: () => void announcedCache.forgetAll(),
    }
  }
  return listen(config.databaseUrl, channels, config.dbTimeoutMs)
}

/** Where the shared cache's invalidations are announced, without Redis. */
const CACHE_INVALIDATED_CHANNEL = 'cache_invalidated'

/** Announces invalidated keys to every process, in one NOTIFY (keys hold no line breaks). */
const announceTo = (db: Db) => (keys: string[]) => notify(db, CACHE_INVALIDATED_CHANNEL, keys.join('\n'))

/** NATS, Redis, then the database, once requests in flight have finished and the relay has stopped. */
async function closeStores({ nats, redis, database, listening }: Components) {
  await listening?.close()
  await nats?.close()
  await redis?.quit().catch(() => redis?.disconnect())
  await database.close()
}

/**
 * Migrations and demo data may take longer than a request may wait: on PostgreSQL they get a
 * connection of their own, without the requests' bounds.
 */
const MIGRATION_TIMEOUT_MS = 120_000

async function onOwnConnection(config: Config, database: DatabaseHandle, work: (db: Db) => Promise<unknown>) {
  if (database.kind !== 'postgres') return work(database.db)
  const own = openDatabase({ ...config, poolSize: 1, timeoutMs: MIGRATION_TIMEOUT_MS })
  try {
    await work(own.db)
  } finally {
    await own.close()
  }
}
