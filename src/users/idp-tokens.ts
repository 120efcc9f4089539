import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  type ExportedJWKSCache,
  errors,
  type JWTVerifyGetKey,
  jwksCache,
  jwtVerify,
} from 'jose'
import type { Clock } from '../platform/clock.js'
import { AppError, unauthenticated } from '../platform/errors.js'
import { Generations } from '../platform/generations.js'
import { ALGORITHMS, type Algorithm, parsePublicKey } from './public-key.js'
import type { UserRepository } from './repository.js'

/** Clock skew forgiven on `exp` and `nbf`, in seconds. */
const LEEWAY_S = 30
/** Real headers are a few hundred characters; a longer one is refused before it is decoded. */
const MAX_HEADER_SEGMENT_LENGTH = 2048
const MAX_KID_LENGTH = 256
/** Subjects are ids (a UUID, `auth0|…`); this bounds what a user row may hold. */
const MAX_SUBJECT_LENGTH = 255
/** Verified tokens kept (two generations of this many), so a token seen again costs a map lookup, not a signature and a select. */
const VERIFIED_GENERATION_SIZE = 25_000

/** How the identity provider's keys are fetched: jose's remote key set, with these bounds. */
interface JwksTiming {
  /** Longest wait for one JWKS fetch, then the request gets 503. */
  timeoutMs: number
  /** After a fetch, an unknown `kid` does not fetch again for this long (so junk kids cannot hammer the provider). */
  cooldownMs: number
  /** The fetched set is used this long, then fetched again. */
  maxAgeMs: number
}

const DEFAULT_JWKS_TIMING: JwksTiming = { timeoutMs: 2000, cooldownMs: 30_000, maxAgeMs: 600_000 }

/** An identity provider whose JWTs are accepted as Bearer tokens. */
export interface IdentityProvider {
  /** Where its signing keys are: its JWKS URL, or one PEM public key. */
  keys: { jwksUrl: string } | { publicKey: string }
  /** The `iss` its tokens must carry. */
  issuer: string
  /** The `aud` its tokens must carry (one of them, when `aud` is a list). */
  audience: string
}

/** The JWKS endpoint did not answer with keys, and none known before fits the token. */
class JwksUnavailable extends Error {}

/**
 * The provider's keys from its JWKS URL, fetched and cached by jose's remote key set (bounded
 * wait, a cooldown before an unknown `kid` fetches again, a fresh fetch after `maxAgeMs`). When
 * a fetch fails, the keys of the last good fetch still verify the tokens they signed, so an
 * outage of the provider does not sign out everyone; only a token whose key is not among them
 * gets 503. jose keeps this cache on the real clock, and so does the failure cooldown beside it.
 */
function remoteKeys(url: URL, timing: JwksTiming, observe: (seconds: number, failed: boolean) => void): JWTVerifyGetKey {
  // jose writes each good fetch here (its `jwks` and `uat`, the time of the fetch).
  const lastGood: Partial<ExportedJWKSCache> = {}
  const remote = createRemoteJWKSet(url, {
    timeoutDuration: timing.timeoutMs,
    cooldownDuration: timing.cooldownMs,
    cacheMaxAge: timing.maxAgeMs,
    [jwksCache]: lastGood as ExportedJWKSCache,
    [customFetch]: async (href, options) => {
      const start = performance.now()
      try {
        const response = await fetch(href, options)
        observe((performance.now() - start) / 1000, response.status !== 200)
        return response
      } catch (err) {
        observe((performance.now() - start) / 1000, true)
        throw err
      }
    },
  })
  let stale: { uat: number; keys: JWTVerifyGetKey } | undefined
  let failedUntil = 0
  const lastGoodKeys: JWTVerifyGetKey = async (header, token) => {
    const { uat, jwks } = lastGood
    if (uat === undefined || jwks === undefined) throw new JwksUnavailable()
    if (stale?.uat !== uat) stale = { uat, keys: createLocalJWKSet(jwks) }
    try {
      return await stale.keys(header, token)
    } catch {
      throw new JwksUnavailable()
    }
  }
  return async (header, token) => {
    // Within the cooldown after a failed fetch, the last good set answers as it is, fresh or not:
    // no request waits for another failure, and unknown kids do not fetch again (a key of that set
    // verifies; any other gets 503). With no set at all, every request tries again, so the first
    // answer after an outage counts.
    if (lastGood.uat !== undefined && Date.now() < failedUntil) return lastGoodKeys(header, token)
    try {
      return await remote(header, token)
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err
      failedUntil = Date.now() + timing.cooldownMs
      return lastGoodKeys(header, token)
    }
  }
}

/** Why a token was refused, for the problem document. */
function refusal(err: unknown): AppError {
  if (err instanceof JwksUnavailable) {
    return new AppError('DEPENDENCY_UNAVAILABLE', "the identity provider's signing keys could not be fetched; retry later")
  }
  if (err instanceof errors.JWTExpired) return unauthenticated('the access token has expired')
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return unauthenticated(`the access token has no "${err.claim}" claim`)
    if (err.claim === 'nbf') return unauthenticated('the access token is not valid yet')
    return unauthenticated(`the access token's "${err.claim}" claim is not accepted`)
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return unauthenticated(`the access token's algorithm is not one of ${ALGORITHMS.join(', ')}`)
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return unauthenticated("the access token's key (kid) is not one of the identity provider's")
  }
  return unauthenticated('the access token is not valid')
}

/** What the identity provider's tokens are checked with. */
export interface IdpTokensParts {
  provider: IdentityProvider
  /** Where a token's issuer and subject find (or create) their user. */
  users: UserRepository
  clock: Clock
  /** Told the duration and outcome of every JWKS fetch, for the metrics. */
  observeJwks?: (seconds: number, failed: boolean) => void
  jwksTiming?: JwksTiming
}

/**
 * The identity provider's JWTs as Bearer tokens: verified with jose (RS256, ES256 or EdDSA; `iss`,
 * `aud`, `exp` and `nbf` against the app's clock with 30 s leeway), then mapped to a stagedoor
 * user by `iss` and `sub`, created on first sight. A verified token is remembered by its exact
 * text until its `exp`, with its user: a fan polling with the same token costs a map lookup.
 */
export class IdpTokens {
  readonly #keys: JWTVerifyGetKey
  readonly #algorithms: Algorithm[]
  /** Verified tokens, oldest first (a Map keeps insertion order). */
  readonly #verified = new Generations<{ userId: string; expMs: number }>(VERIFIED_GENERATION_SIZE)

  private readonly provider: IdentityProvider
  private readonly users: UserRepository
  private readonly clock: Clock

  constructor({ provider, users, clock, observeJwks = () => {}, jwksTiming = DEFAULT_JWKS_TIMING }: IdpTokensParts) {
    this.provider = provider
    this.users = users
    this.clock = clock
    if ('jwksUrl' in provider.keys) {
      this.#keys = remoteKeys(new URL(provider.keys.jwksUrl), jwksTiming, observeJwks)
      this.#algorithms = [...ALGORITHMS]
    } else {
      const { key, algorithm } = parsePublicKey(provider.keys.publicKey)
      this.#keys = () => key
      this.#algorithms = [algorithm]
    }
  }

  /** The user of a token: at once when this token was verified before, else once it is verified. */
  authenticate(token: string): string | Promise<string> {
    const known = this.#verified.get(token)
    if (known !== undefined) {
      if (known.expMs > this.clock.now()) return known.userId
      this.#verified.delete(token)
    }
    return this.#verify(token)
  }

  async #verify(token: string): Promise<string> {
    const headerEnd = token.indexOf('.')
    if (headerEnd < 0 || headerEnd > MAX_HEADER_SEGMENT_LENGTH) throw unauthenticated('the access token is not valid')
    let kid: unknown
    try {
      kid = decodeProtectedHeader(token).kid
    } catch {
      throw unauthenticated('the access token is not valid')
    }
    if (kid !== undefined && (typeof kid !== 'string' || kid.length > MAX_KID_LENGTH)) {
      throw unauthenticated(`the access token's kid must be a string of at most ${MAX_KID_LENGTH} characters`)
    }
    let payload: { sub?: unknown; exp?: unknown }
    try {
      ;({ payload } = await jwtVerify(token, this.#keys, {
        algorithms: this.#algorithms,
        issuer: this.provider.issuer,
        audience: this.provider.audience,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: LEEWAY_S,
        currentDate: new Date(this.clock.now()),
      }))
    } catch (err) {
      throw refusal(err)
    }
    const { sub, exp } = payload
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH) {
      throw unauthenticated(`the access token's "sub" claim must be 1 to ${MAX_SUBJECT_LENGTH} characters`)
    }
    const now = this.clock.now()
    const userId = await this.users.ofIdentity(this.provider.issuer, sub, now)
    const expMs = (exp as number) * 1000
    if (expMs > now) this.#verified.set(token, { userId, expMs })
    return userId
  }
}
