import { createSecretKey, type KeyObject } from 'node:crypto'
import { errors, type JWTPayload, jwtVerify, SignJWT } from 'jose'
import type { Clock } from '../shared/clock.js'

const ISSUER = 'stagedoor'

export type VerifyFailure = 'invalid' | 'expired'

/**
 * Signs and verifies the HS256 tokens stagedoor issues (access tokens and queue tokens), each
 * with its own `typ` so one kind can never be used as the other.
 */
export class TokenSigner {
  readonly #key: KeyObject

  constructor(
    secret: string,
    private readonly clock: Clock,
  ) {
    this.#key = createSecretKey(Buffer.from(secret, 'utf8'))
  }

  /** `issuedAtMs` fixes the issue time, so the same claims always give the same token. */
  async sign(typ: string, subject: string, claims: JWTPayload, ttlSeconds: number, issuedAtMs = this.clock.now()): Promise<string> {
    const now = Math.floor(issuedAtMs / 1000)
    return new SignJWT({ ...claims, typ })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setSubject(subject)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSeconds)
      .sign(this.#key)
  }

  /** The payload of a token of this `typ`, or why it was refused. */
  async verify(typ: string, token: string): Promise<JWTPayload | VerifyFailure> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        issuer: ISSUER,
        algorithms: ['HS256'],
        currentDate: new Date(this.clock.now()),
        requiredClaims: ['sub', 'exp'],
      })
      return payload.typ === typ ? payload : 'invalid'
    } catch (err) {
      if (err instanceof errors.JWTExpired) return 'expired'
      return 'invalid'
    }
  }
}
