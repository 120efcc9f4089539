import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto'
import type { Clock } from './clock.js'
import { Generations } from './generations.js'

/** Every token signed here starts with this: the format's version, so a later one can be told apart. */
const PREFIX = 'sd1.'
/** Verified (or signed here) tokens kept, so a token polled again is not checked again: two generations of this many. */
const VERIFIED_GENERATION_SIZE = 25_000
/** The longest token worth looking at: anything longer is refused before any work. */
const MAX_TOKEN_LENGTH = 2048

export type VerifyFailure = 'invalid' | 'expired'

export interface TokenPayload {
  sub: string
  exp: number
  [claim: string]: unknown
}

/**
 * Signs and verifies the tokens stagedoor issues (access tokens and queue tokens) in a compact
 * form: `sd1.<typ>.<payload>.<signature>`, the payload base64url JSON with `sub` and `exp` (and
 * the kind's own claims), the signature HMAC-SHA256 over everything before it, compared in
 * constant time. The `typ` is signed too, so one kind can never be used as the other.
 *
 * Verified tokens are remembered by their exact text: only the very token whose signature was
 * checked finds its entry, and a lookup costs one string hash. Tokens signed here are remembered
 * as they are issued. Expiry is checked on every call against the injected clock.
 */
export class TokenSigner {
  /** Verified payloads by token, oldest first (a Map keeps insertion order). */
  readonly #verified: Generations<Readonly<TokenPayload>>
  readonly #key: KeyObject

  constructor(
    secret: string,
    private readonly clock: Clock,
    /** Tokens remembered: two generations of this many. */
    generationSize = VERIFIED_GENERATION_SIZE,
  ) {
    this.#key = createSecretKey(Buffer.from(secret))
    this.#verified = new Generations(generationSize)
  }

  /** Whether a token is shaped like one of ours, so it is worth verifying here. Says nothing of its validity. */
  hasOwnHeader(token: string): boolean {
    return token.startsWith(PREFIX)
  }

  /** `issuedAtMs` fixes the issue time, so the same claims always give the same token. */
  sign(typ: string, subject: string, claims: Record<string, unknown>, ttlSeconds: number, issuedAtMs = this.clock.now()): string {
    // Fields first, then the spread: the other order is slow in V8.
    const payload: TokenPayload = { sub: subject, exp: Math.floor(issuedAtMs / 1000) + ttlSeconds, ...claims }
    const signed = `${PREFIX}${typ}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
    const token = `${signed}.${this.#mac(signed).toString('base64url')}`
    // A token signed here is valid by construction: its first check need not verify it again.
    this.#verified.set(token, Object.freeze(payload))
    return token
  }

  /** The payload of a token of this `typ`, or why it was refused. */
  verify(typ: string, token: string): TokenPayload | VerifyFailure {
    let payload = this.#verified.get(token)
    if (payload === undefined) {
      const checked = this.#check(token)
      if (!checked) return 'invalid'
      payload = checked
      this.#verified.set(token, payload)
    }
    if (!token.startsWith(`${PREFIX}${typ}.`)) return 'invalid'
    if (payload.exp * 1000 <= this.clock.now()) return 'expired'
    return payload
  }

  /** The payload of a token whose signature is ours, else undefined. */
  #check(token: string): Readonly<TokenPayload> | undefined {
    if (token.length > MAX_TOKEN_LENGTH || !token.startsWith(PREFIX)) return undefined
    const cut = token.lastIndexOf('.')
    const signed = token.slice(0, cut)
    const given = Buffer.from(token.slice(cut + 1), 'base64url')
    const expected = this.#mac(signed)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
    let payload: unknown
    try {
      payload = JSON.parse(Buffer.from(signed.slice(signed.lastIndexOf('.') + 1), 'base64url').toString('utf8'))
    } catch {
      return undefined
    }
    const p = payload as TokenPayload
    if (typeof p !== 'object' || p === null || typeof p.sub !== 'string' || typeof p.exp !== 'number') return undefined
    return Object.freeze(p)
  }

  #mac(signed: string): Buffer {
    return createHmac('sha256', this.#key).update(signed).digest()
  }
}
