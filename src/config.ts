import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Static, type TSchema, Type } from 'typebox'
import { Value } from 'typebox/value'
import { isInMemory } from './platform/data-dir.js'
import { redactUrlPasswords } from './platform/redact.js'
import { keptSecret } from './platform/secret-file.js'
import type { QueueSettings } from './queue/settings.js'
import type { IdentityProvider } from './users/idp-tokens.js'
import { parsePublicKey } from './users/public-key.js'

/**
 * How a message may show a variable's value: a secret never (`secret`), a URL without its
 * password (`url`); every other variable as it is. Marked here, on the variable, and nowhere else.
 */
type Shown = 'secret' | 'url'
const asSecret: { shown: Shown } = { shown: 'secret' }
const asUrl: { shown: Shown } = { shown: 'url' }

const AUTH_SECRET_MIN = 32
const ADMIN_KEY_MIN = 16

/** The environment variables stagedoor reads, with their defaults (the README lists them). */
const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', ...asUrl })),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 1000, default: 20 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^(rediss?|redis-cluster)://', ...asUrl })),
  REDIS_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$', default: 'sd:' }),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  AUTH_SECRET: Type.Optional(Type.String({ minLength: AUTH_SECRET_MIN, ...asSecret })),
  ADMIN_KEY: Type.Optional(Type.String({ minLength: ADMIN_KEY_MIN, ...asSecret })),
  DEMO_DATA: Type.Boolean({ default: true }),
  SIGNUP: Type.Union([Type.Literal('open'), Type.Literal('off')], { default: 'open' }),
  CHARGES: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('off')])),
  AUTH_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://', ...asUrl })),
  AUTH_PUBLIC_KEY: Type.Optional(Type.String({ minLength: 1 })),
  AUTH_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  AUTH_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  QUEUE_STRATEGY: Type.Union([Type.Literal('rate'), Type.Literal('cap'), Type.Literal('hybrid')], {
    default: 'hybrid',
  }),
  QUEUE_ADMIT_PER_TICK: Type.Integer({ minimum: 1, maximum: 100_000, default: 100 }),
  QUEUE_TICK_MS: Type.Integer({ minimum: 50, maximum: 3_600_000, default: 1000 }),
  QUEUE_MAX_ACTIVE: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 1000 }),
  QUEUE_ACTIVE_IDLE_S: Type.Integer({ minimum: 1, maximum: 86_400, default: 300 }),
  QUEUE_ACTIVE_MAX_S: Type.Integer({ minimum: 1, maximum: 86_400, default: 1800 }),
  QUEUE_WAITING_IDLE_S: Type.Integer({ minimum: 1, maximum: 86_400, default: 300 }),
  QUEUE_ADAPTIVE: Type.Boolean({ default: false }),
  QUEUE_ADAPTIVE_MIN_PER_TICK: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }),
  /** Unset: ten times QUEUE_ADMIT_PER_TICK. */
  QUEUE_ADAPTIVE_MAX_PER_TICK: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  QUEUE_ADAPTIVE_TARGET_MS: Type.Integer({ minimum: 1, maximum: 60_000, default: 250 }),
  HOLD_TTL_S: Type.Integer({ minimum: 1, maximum: 86_400, default: 300 }),
  HOLD_MAX_PER_USER: Type.Integer({ minimum: 1, maximum: 1000, default: 4 }),
  TICKETS_PER_USER: Type.Integer({ minimum: 1, maximum: 1000, default: 4 }),
  TRUST_PROXY: Type.String({ minLength: 1, default: 'false', pattern: '^(true|false|[0-9a-fA-F.:/, ]+)$' }),
  RATE_SIGNUP_PER_MIN: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 20 }),
  RATE_JOIN_PER_MIN: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 60 }),
  RATE_HOLD_PER_MIN: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 30 }),
  DB_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 600_000, default: 2000 }),
  REDIS_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 600_000, default: 1000 }),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  SHUTDOWN_DELAY_MS: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 10_000 }),
  OVERLOAD_LAG_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 1000 }),
  NATS_URL: Type.Optional(Type.String({ pattern: '^(nats|tls)://', ...asUrl })),
  WEBHOOK_ALLOW_PRIVATE: Type.Optional(Type.Boolean()),
  WEBHOOK_RETRY_BASE_MS: Type.Integer({ minimum: 1, maximum: 86_400_000, default: 5000 }),
  WEBHOOK_RETRY_MAX_MS: Type.Integer({ minimum: 1, maximum: 7 * 86_400_000, default: 6 * 3_600_000 }),
  WEBHOOK_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 100, default: 12 }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 10_000 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
})

export interface Config {
  port: number
  host: string
  /** PostgreSQL connection string; unset means the embedded PGlite database. */
  databaseUrl?: string
  /** Connections each process keeps to PostgreSQL. */
  poolSize: number
  redisUrl?: string
  /** Prefix of every Redis key: deployments sharing one Redis keep apart by it. */
  redisPrefix: string
  /** Where PGlite keeps its files; `memory://` keeps everything in memory. */
  dataDir: string
  authSecret: string
  adminKey: string
  /** The file in DATA_DIR that keeps the admin key, when it is not ADMIN_KEY's and not in memory only. */
  adminKeyFile?: string
  /** True on the start that made the admin key: the one chance to show it to the operator. */
  adminKeyCreated: boolean
  /** What no log line may show: the secret variables' values (generated or not) and the URLs' passwords. */
  secretValues: string[]
  demoData: boolean
  /** `off`: no demo sign-up, and demo access tokens are refused; fans sign in with the identity provider. */
  signup: 'open' | 'off'
  /**
   * `open`: fans top up their own balance (demo); `off`: only the operator's payment integration
   * credits balances (the admin route). Open by default only while demo sign-up is.
   */
  charges: 'open' | 'off'
  /** The identity provider whose JWTs are accepted as Bearer tokens, if any. */
  identity?: IdentityProvider
  queue: QueueSettings
  holdTtlS: number
  holdMaxPerUser: number
  /** Default cap on one fan's live holds plus paid seats per concert. */
  ticketsPerUser: number
  /** Whom to believe about the client's address: no one (false), any proxy (true), or these addresses. */
  trustProxy: boolean | string
  /** Requests per minute (0: no limit): sign-ups and joins per client address, holds per user. */
  rateLimits: { signupPerMin: number; joinPerMin: number; holdPerMin: number }
  /** Longest wait for the database (connect, statement), then 503. */
  dbTimeoutMs: number
  /** Longest wait for one Redis command, then 503. */
  redisTimeoutMs: number
  /** A request's headers and body must arrive within this, else 408 and the connection closes. */
  requestTimeoutMs: number
  /** After SIGTERM, keep serving (with /ready 503) this long, so load balancers stop sending. */
  shutdownDelayMs: number
  /** Then finish requests in flight for at most this long. */
  shutdownGraceMs: number
  /** New work is refused (503 OVERLOADED) while the event loop lags more than this; 0: never. */
  overloadLagMs: number
  logLevel: string
  /** NATS server(s) whose JetStream gets every event too, when set. */
  natsUrl?: string
  /**
   * Webhook targets and retries: private targets (embedded default true), retry delays, attempts
   * before `failed`, and one attempt's longest time (a relay's claim lasts three of them).
   */
  webhooks: { allowPrivate: boolean; retryBaseMs: number; retryMaxMs: number; maxAttempts: number; timeoutMs: number }
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>

/**
 * Reads and validates the configuration. In embedded mode (no DATABASE_URL) missing secrets are
 * generated and kept in DATA_DIR, so tokens and the admin key survive a restart. In production
 * both secrets come from the environment only: DATA_DIR is never read for them.
 */
export function loadConfig(env: Env = process.env): Config {
  const raw: Record<string, string> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = env[key]
    if (value !== undefined && value !== '') raw[key] = value
  }
  const parsed = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw))
  const errors = Value.Errors(EnvSchema, parsed)
  if (errors.length > 0) {
    const lines = errors.map((e) => {
      const name = e.instancePath.slice(1)
      return `${shownVariable(name, raw[name])}: ${e.message}`
    })
    throw new ConfigError(`invalid configuration:\n  ${[...new Set(lines)].join('\n  ')}`)
  }
  const e = parsed as Static<typeof EnvSchema>
  if (e.WEBHOOK_RETRY_MAX_MS < e.WEBHOOK_RETRY_BASE_MS) {
    throw new ConfigError('invalid configuration: WEBHOOK_RETRY_MAX_MS must be at least WEBHOOK_RETRY_BASE_MS')
  }
  if (e.QUEUE_ACTIVE_MAX_S < e.QUEUE_ACTIVE_IDLE_S) {
    throw new ConfigError('invalid configuration: QUEUE_ACTIVE_MAX_S must be at least QUEUE_ACTIVE_IDLE_S')
  }
  const adaptiveMax = e.QUEUE_ADAPTIVE_MAX_PER_TICK ?? Math.min(100_000, 10 * e.QUEUE_ADMIT_PER_TICK)
  if (adaptiveMax < e.QUEUE_ADAPTIVE_MIN_PER_TICK) {
    throw new ConfigError('invalid configuration: QUEUE_ADAPTIVE_MAX_PER_TICK must be at least QUEUE_ADAPTIVE_MIN_PER_TICK')
  }
  const production = e.DATABASE_URL !== undefined
  if (production && !e.AUTH_SECRET) {
    throw new ConfigError('invalid configuration: AUTH_SECRET is required when DATABASE_URL is set')
  }
  if (production && !e.ADMIN_KEY) {
    throw new ConfigError('invalid configuration: ADMIN_KEY is required when DATABASE_URL is set')
  }
  const identity = identityOf(e)
  if (e.SIGNUP === 'off' && !identity) {
    throw new ConfigError('invalid configuration: SIGNUP=off needs AUTH_JWKS_URL or AUTH_PUBLIC_KEY, else no one can sign in')
  }
  const authSecret = e.AUTH_SECRET ? { value: e.AUTH_SECRET, created: false } : embeddedSecret(e.DATA_DIR, 'auth-secret', AUTH_SECRET_MIN)
  const adminKey = e.ADMIN_KEY ? { value: e.ADMIN_KEY, created: false } : embeddedSecret(e.DATA_DIR, 'admin-key', ADMIN_KEY_MIN)
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    poolSize: e.DATABASE_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    dataDir: e.DATA_DIR,
    authSecret: authSecret.value,
    adminKey: adminKey.value,
    adminKeyFile: adminKey.file,
    adminKeyCreated: adminKey.created,
    secretValues: secretValues({ ...raw, AUTH_SECRET: authSecret.value, ADMIN_KEY: adminKey.value }),
    demoData: e.DEMO_DATA,
    signup: e.SIGNUP,
    // Money for nothing is part of the demo: a deployment with real sign-in takes real payments.
    charges: e.CHARGES ?? (e.SIGNUP === 'open' ? 'open' : 'off'),
    identity,
    queue: {
      strategy: e.QUEUE_STRATEGY,
      admitPerTick: e.QUEUE_ADMIT_PER_TICK,
      tickMs: e.QUEUE_TICK_MS,
      maxActive: e.QUEUE_MAX_ACTIVE,
      activeIdleS: e.QUEUE_ACTIVE_IDLE_S,
      activeMaxS: e.QUEUE_ACTIVE_MAX_S,
      waitingIdleS: e.QUEUE_WAITING_IDLE_S,
      paused: false,
      adaptive: {
        enabled: e.QUEUE_ADAPTIVE,
        minAdmitPerTick: e.QUEUE_ADAPTIVE_MIN_PER_TICK,
        maxAdmitPerTick: adaptiveMax,
        targetLatencyMs: e.QUEUE_ADAPTIVE_TARGET_MS,
      },
    },
    holdTtlS: e.HOLD_TTL_S,
    holdMaxPerUser: e.HOLD_MAX_PER_USER,
    ticketsPerUser: e.TICKETS_PER_USER,
    trustProxy: e.TRUST_PROXY === 'true' ? true : e.TRUST_PROXY === 'false' ? false : e.TRUST_PROXY,
    rateLimits: { signupPerMin: e.RATE_SIGNUP_PER_MIN, joinPerMin: e.RATE_JOIN_PER_MIN, holdPerMin: e.RATE_HOLD_PER_MIN },
    dbTimeoutMs: e.DB_TIMEOUT_MS,
    redisTimeoutMs: e.REDIS_TIMEOUT_MS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    shutdownDelayMs: e.SHUTDOWN_DELAY_MS ?? (production ? 5000 : 0),
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    overloadLagMs: e.OVERLOAD_LAG_MS,
    logLevel: e.LOG_LEVEL,
    natsUrl: e.NATS_URL,
    // A laptop's receiver is on localhost; a production endpoint never is.
    webhooks: {
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE ?? !production,
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: e.WEBHOOK_RETRY_MAX_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    },
  }
}

/** The identity provider of AUTH_*: a key source (exactly one) with its issuer and audience, or none at all. */
function identityOf(e: Static<typeof EnvSchema>): IdentityProvider | undefined {
  const { AUTH_JWKS_URL: jwksUrl, AUTH_PUBLIC_KEY: pem, AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience } = e
  if (jwksUrl && pem) throw new ConfigError('invalid configuration: set AUTH_JWKS_URL or AUTH_PUBLIC_KEY, not both')
  const source = jwksUrl ? 'AUTH_JWKS_URL' : pem ? 'AUTH_PUBLIC_KEY' : undefined
  if (!source) {
    // An issuer or audience alone checks nothing: most likely the key variable is misspelt.
    if (issuer) throw new ConfigError('invalid configuration: AUTH_ISSUER is set without AUTH_JWKS_URL or AUTH_PUBLIC_KEY')
    if (audience) throw new ConfigError('invalid configuration: AUTH_AUDIENCE is set without AUTH_JWKS_URL or AUTH_PUBLIC_KEY')
    return undefined
  }
  if (!issuer) throw new ConfigError(`invalid configuration: AUTH_ISSUER is required with ${source}`)
  if (!audience) throw new ConfigError(`invalid configuration: AUTH_AUDIENCE is required with ${source}`)
  if (jwksUrl) {
    if (!URL.canParse(jwksUrl)) throw new ConfigError(`invalid configuration: ${shownVariable('AUTH_JWKS_URL', jwksUrl)}: not a URL`)
    return { keys: { jwksUrl }, issuer, audience }
  }
  // A one-line variable may carry the PEM's line breaks as \n.
  const publicKey = pem!.replaceAll('\\n', '\n')
  try {
    parsePublicKey(publicKey)
  } catch (err) {
    throw new ConfigError(`invalid configuration: AUTH_PUBLIC_KEY: ${(err as Error).message}`)
  }
  return { keys: { publicKey }, issuer, audience }
}

/** How a variable's value is marked in EnvSchema: `secret`, `url` or (unmarked) shown as it is. */
const shownAs = (name: string): Shown | undefined => (EnvSchema.properties as Record<string, TSchema & { shown?: Shown }>)[name]?.shown

/** `NAME="value"` for a message: a secret's value never, a URL's without its password. */
function shownVariable(name: string, value: string | undefined): string {
  const shown = shownAs(name)
  if (shown === 'secret') return `${name} (value not shown)`
  if (shown === 'url' && value !== undefined) return `${name}=${JSON.stringify(withoutPassword(value))}`
  return `${name}=${JSON.stringify(value)}`
}

/** A URL with its password as `***`; in a value not shaped scheme://user:password@…, all before its last `@`. */
function withoutPassword(value: string): string {
  const redacted = redactUrlPasswords(value)
  if (redacted !== value || !value.includes('@')) return redacted
  return `***${value.slice(value.lastIndexOf('@'))}`
}

/** The values of the variables marked secret, and the passwords of those marked url. */
function secretValues(values: Record<string, string | undefined>): string[] {
  const found: string[] = []
  for (const name of Object.keys(EnvSchema.properties)) {
    const value = values[name]
    if (!value) continue
    const shown = shownAs(name)
    if (shown === 'secret') found.push(value)
    if (shown === 'url' && URL.canParse(value)) {
      const { password } = new URL(value)
      if (password) found.push(password)
    }
  }
  return found
}

interface EmbeddedSecret {
  value: string
  /** Where it is kept; none for an in-memory DATA_DIR. */
  file?: string
  created: boolean
}

/**
 * A secret generated once and kept in DATA_DIR (or only in memory for an in-memory DATA_DIR). A
 * file too short to be a secret of at least `minLength` characters (a start that died before
 * writing it) is replaced; a file that cannot be read or replaced stops the start.
 */
function embeddedSecret(dataDir: string, name: string, minLength: number): EmbeddedSecret {
  const generate = () => randomBytes(32).toString('base64url')
  if (isInMemory(dataDir)) return { value: generate(), created: true }
  const file = join(dataDir, name)
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    return { ...keptSecret(file, minLength, generate), file }
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${file} (a secret in DATA_DIR) cannot be read or replaced: ${(err as Error).message}`)
  }
}
