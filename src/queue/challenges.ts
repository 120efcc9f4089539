import { createHmac } from 'node:crypto'
import { type Challenge, createChallenge, type Payload, randomInt, verifySolution } from 'altcha-lib'
import { deriveKey } from 'altcha-lib/algorithms/sha'
import type { Kysely } from 'kysely'
import type { Clock } from '../platform/clock.js'
import type { RedisClient } from '../platform/redis/client.js'

/**
 * The work a challenge asks for: the solver tries counters from 0 until one gives the key the
 * server derived from a counter it drew at random from 0 to this (one SHA-256 each). Drawn over
 * the whole range, so no solver can skip a part of it: about 100,000 tries on average, 1–3 s for
 * a phone's browser, while checking a solution costs the server one hash and two HMACs (well
 * under a millisecond; docs/performance.md gives the measured figures).
 */
export const CHALLENGE_MAX_COUNTER = 200_000

/** The counter of a new challenge: uniform over 0 … CHALLENGE_MAX_COUNTER. */
export const challengeCounter = () => randomInt(CHALLENGE_MAX_COUNTER, 0)

/** How long a challenge may be solved and used. */
const CHALLENGE_TTL_MS = 5 * 60_000
/** The largest payload a join may carry (a real one is about 600 characters). */
export const MAX_PAYLOAD_LENGTH = 4096

/** Solutions already used: each one works once, across processes. */
export interface UsedSolutions {
  /** True the first time an id is used, false every time after, until `ttlMs` has passed. */
  claim(id: string, ttlMs: number): Promise<boolean>
  /** Forgets solutions whose challenges have expired (they can no longer be used anyway). */
  sweep(): Promise<void>
}

export class RedisUsedSolutions implements UsedSolutions {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = 'sd:',
  ) {}

  async claim(id: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}challenge:${id}`, '1', 'PX', ttlMs, 'NX')) === 'OK'
  }

  /** Nothing to do: each key expires with its challenge. */
  async sweep(): Promise<void> {}
}

interface UsedChallengesTable {
  id: string
  expires_at: Date
}

export interface UsedChallengesTables {
  used_challenges: UsedChallengesTable
}

export class DbUsedSolutions implements UsedSolutions {
  constructor(
    private readonly db: Kysely<UsedChallengesTables>,
    private readonly clock: Clock,
  ) {}

  async claim(id: string, ttlMs: number): Promise<boolean> {
    const inserted = await this.db
      .insertInto('used_challenges')
      .values({ id, expires_at: new Date(this.clock.now() + ttlMs) })
      .onConflict((oc) => oc.doNothing())
      .returning('id')
      .executeTakeFirst()
    return inserted !== undefined
  }

  async sweep(): Promise<void> {
    await this.db.deleteFrom('used_challenges').where('expires_at', '<', new Date(this.clock.now())).execute()
  }
}

export type ChallengeVerdict = 'ok' | 'failed'

/**
 * Proof of work on join (ALTCHA, version 2 of its challenge format, deterministic mode): a
 * challenge is signed and expiring and names its concert; a solution is checked by its key
 * signature, then claimed, so it works once.
 */
export class JoinChallenges {
  readonly #signatureSecret: string
  readonly #keySecret: string

  constructor(
    secret: string,
    private readonly used: UsedSolutions,
    private readonly clock: Clock,
  ) {
    this.#signatureSecret = createHmac('sha256', secret).update('join-challenge-signature').digest('hex')
    this.#keySecret = createHmac('sha256', secret).update('join-challenge-key').digest('hex')
  }

  create(concertId: string): Promise<Challenge> {
    return createChallenge({
      algorithm: 'SHA-256',
      cost: 1,
      counter: challengeCounter(),
      deriveKey,
      data: { concertId },
      expiresAt: new Date(this.clock.now() + CHALLENGE_TTL_MS),
      hmacSignatureSecret: this.#signatureSecret,
      hmacKeySignatureSecret: this.#keySecret,
    })
  }

  /** Whether `payload` (ALTCHA's base64 JSON of {challenge, solution}) solves a live challenge of this concert, for the first time. */
  async verify(payload: string, concertId: string): Promise<ChallengeVerdict> {
    const parsed = parsePayload(payload)
    if (!parsed) return 'failed'
    const { challenge, solution } = parsed
    const { parameters } = challenge
    if (parameters.data?.concertId !== concertId) return 'failed'
    if (typeof parameters.expiresAt !== 'number' || parameters.expiresAt * 1000 <= this.clock.now()) return 'failed'
    let verified = false
    try {
      const result = await verifySolution({
        challenge,
        solution,
        deriveKey,
        hmacSignatureSecret: this.#signatureSecret,
        hmacKeySignatureSecret: this.#keySecret,
      })
      verified = result.verified
    } catch {
      // A payload whose parts have the wrong shapes or sizes fails like a wrong answer.
      return 'failed'
    }
    if (!verified) return 'failed'
    return (await this.used.claim(parameters.nonce, CHALLENGE_TTL_MS)) ? 'ok' : 'failed'
  }
}

/** ALTCHA's payload: base64 of JSON `{challenge: {parameters, signature}, solution: {counter, derivedKey}}`. */
function parsePayload(payload: string): Payload | undefined {
  if (payload.length > MAX_PAYLOAD_LENGTH || !/^[A-Za-z0-9+/]+=*$/.test(payload)) return undefined
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'))
  } catch {
    return undefined
  }
  const p = value as Payload
  const ok =
    typeof p === 'object' &&
    p !== null &&
    typeof p.challenge === 'object' &&
    p.challenge !== null &&
    typeof p.challenge.parameters === 'object' &&
    p.challenge.parameters !== null &&
    typeof p.challenge.parameters.nonce === 'string' &&
    p.challenge.parameters.nonce.length <= 64 &&
    typeof p.challenge.signature === 'string' &&
    typeof p.solution === 'object' &&
    p.solution !== null &&
    typeof p.solution.counter === 'number'
  return ok ? p : undefined
}
