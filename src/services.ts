import { AccessTokens } from './auth/access-tokens.js'
import { TokenSigner } from './auth/signer.js'
import { CatalogService } from './catalog/service.js'
import type { Config } from './config.js'
import type { DatabaseHandle } from './db/database.js'
import type { Clock } from './shared/clock.js'
import { UserService } from './users/service.js'

/** Everything the routes need, built once per app from the config and its backing stores. */
export interface Services {
  config: Config
  clock: Clock
  database: DatabaseHandle
  signer: TokenSigner
  accessTokens: AccessTokens
  users: UserService
  catalog: CatalogService
}

export function createServices(config: Config, clock: Clock, database: DatabaseHandle): Services {
  const signer = new TokenSigner(config.authSecret, clock)
  return {
    config,
    clock,
    database,
    signer,
    accessTokens: new AccessTokens(signer),
    users: new UserService(database.db, clock),
    catalog: new CatalogService(database.db, clock),
  }
}
