import { createSigner, createVerifier } from 'fast-jwt'
import type { Clock } from './clock.js'

const ISSUER = 'stagedoor'
/** Verified (or signed here) tokens kept, so a token polled again is not checked again. */
const VERIFIED_CACHE_SIZE = 50_000

export type VerifyFailure = 'invalid' | 'expired'

export interface TokenPayload {
  sub: string
  exp: number
  iat: number
  [claim: string]: unknown
}

/**
 * Signs and verifies the HS256 tokens stagedoor issues (access tokens and queue tokens), each
 * with its own `typ` so one kind can never be used as the other. fast-jwt works synchronously on
 * node's HMAC. Verified tokens are remembered by their exact text: only the very token whose
 * signature was checked finds its entry, and a lookup costs one string hash instead of a SHA-256
 * (fast-jwt's own cache hashes every token it looks up). Tokens signed here are remembered as they
 * are issued. Expiry is checked on every call against the injected clock.
 */
export class TokenSigner {
  readonly #sign: (payload: Record<string, unknown>) => string
  readonly #verify: (token: string) => Record<string, unknown>
  /** Verified payloads by token, oldest first (a Map keeps insertion order). */
  readonly #verified = new Map<string, Readonly<Record<string, unknown>>>()
  /** The header segment every token signed here starts with, dot included. */
  readonly #header: string

  constructor(
    secret: string,
    private readonly clock: Clock,
  ) {
    this.#sign = createSigner({ key: secret, algorithm: 'HS256', noTimestamp: true })
    this.#verify = createVerifier({
      key: secret,
      algorithms: ['HS256'],
      allowedIss: ISSUER,
      requiredClaims: ['sub', 'exp'],
      ignoreExpiration: true,
      ignoreNotBefore: true,
    })
    this.#header = this.#sign({}).split('.')[0] + '.'
  }

  /** Whether a token is shaped like one of ours (our header), so it is worth verifying here. Says nothing of its validity. */
  hasOwnHeader(token: string): boolean {
    return token.startsWith(this.#header)
  }

  /** `issuedAtMs` fixes the issue time, so the same claims always give the same token. */
  sign(typ: string, subject: string, claims: Record<string, unknown>, ttlSeconds: number, issuedAtMs = this.clock.now()): string {
    const iat = Math.floor(issuedAtMs / 1000)
    const payload = { ...claims, typ, iss: ISSUER, sub: subject, iat, exp: iat + ttlSeconds }
    const token = this.#sign(payload)
    // A token signed here is valid by construction: its first check need not verify it again.
    this.#remember(token, Object.freeze(payload))
    return token
  }

  /** The payload of a token of this `typ`, or why it was refused. */
  verify(typ: string, token: string): TokenPayload | VerifyFailure {
    let payload = this.#verified.get(token)
    if (payload === undefined) {
      try {
        payload = Object.freeze(this.#verify(token))
      } catch {
        return 'invalid'
      }
      this.#remember(token, payload)
    }
    if (payload.typ !== typ || typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return 'invalid'
    if (payload.exp * 1000 <= this.clock.now()) return 'expired'
    return payload as TokenPayload
  }

  #remember(token: string, payload: Readonly<Record<string, unknown>>) {
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value!)
    this.#verified.set(token, payload)
  }
}
