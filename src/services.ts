import { AccessTokens } from './auth/access-tokens.js'
import { type Cache, LocalCache } from './cache/cache.js'
import { Metrics } from './cache/metrics.js'
import { RedisCache } from './cache/redis-cache.js'
import { TokenSigner } from './auth/signer.js'
import { CatalogService } from './catalog/service.js'
import type { Config } from './config.js'
import type { DatabaseHandle } from './db/database.js'
import { DbWaitingRoomStore } from './queue/db-store.js'
import { RedisWaitingRoomStore } from './queue/redis/store.js'
import { WaitingRoom } from './queue/service.js'
import { QueueSettingsService } from './queue/settings.js'
import type { WaitingRoomStore } from './queue/store.js'
import { QueueTokens } from './queue/tokens.js'
import type { RedisClient } from './redis/client.js'
import type { Clock } from './shared/clock.js'
import { UserService } from './users/service.js'
import { IdempotencyService } from './idempotency/service.js'
import { PaymentService } from './payment/service.js'
import { ReservationService } from './reservation/service.js'
import { WalletService } from './wallet/service.js'

/** Everything the routes need, built once per app from the config and its backing stores. */
export interface Services {
  config: Config
  metrics: Metrics
  /** Look-aside cache of reads: Redis with an in-process layer when configured, else in-process. */
  cache: Cache
  clock: Clock
  database: DatabaseHandle
  redis: RedisClient | undefined
  signer: TokenSigner
  accessTokens: AccessTokens
  users: UserService
  catalog: CatalogService
  queueSettings: QueueSettingsService
  waitingRoomStore: WaitingRoomStore
  waitingRoom: WaitingRoom
  reservations: ReservationService
  wallet: WalletService
  payments: PaymentService
  idempotency: IdempotencyService
}

export interface Backing {
  database: DatabaseHandle
  redis?: RedisClient
  /** Prefix of every Redis key (tests give each run its own). */
  redisPrefix?: string
}

export function createServices(config: Config, clock: Clock, { database, redis, redisPrefix }: Backing): Services {
  const signer = new TokenSigner(config.authSecret, clock)
  const metrics = new Metrics()
  const localCache = new LocalCache(clock, metrics)
  const cache: Cache = redis ? new RedisCache(redis, clock, metrics, redisPrefix) : localCache
  const catalog = new CatalogService(database.db, clock, cache, localCache)
  const queueSettings = new QueueSettingsService(database.db, config.queue, clock)
  const waitingRoomStore: WaitingRoomStore = redis
    ? new RedisWaitingRoomStore(redis, redisPrefix)
    : new DbWaitingRoomStore(database.db)
  const reservations = new ReservationService(database.db, catalog, clock, config, cache)
  return {
    config,
    metrics,
    cache,
    clock,
    database,
    redis,
    signer,
    accessTokens: new AccessTokens(signer),
    users: new UserService(database.db, clock),
    catalog,
    queueSettings,
    waitingRoomStore,
    waitingRoom: new WaitingRoom(waitingRoomStore, queueSettings, catalog, new QueueTokens(signer), clock, localCache),
    reservations,
    wallet: new WalletService(database.db, clock),
    payments: new PaymentService(clock, cache),
    idempotency: new IdempotencyService(database.db, clock),
  }
}
