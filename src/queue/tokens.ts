import { AppError } from '../platform/errors.js'
import type { TokenSigner } from '../platform/signer.js'

/**
 * A queue token outlives any wait in line and any admission; the stores remember why a token
 * ended for longer than this, so a token of which a store has no trace was lost, not ended.
 */
export const QUEUE_TOKEN_TTL_S = 24 * 3600

export interface QueueClaims {
  userId: string
  concertId: string
  tokenId: string
}

/** The claims, and where the entry sorts in line and when it joined: enough to put it back. */
export interface QueueTokenClaims extends QueueClaims {
  orderKey: number
  joinedAt: number
}

/**
 * `Queue-Token`: signed, carrying the user, the concert, the token id and the entry's order key.
 * Position is live state in the store, never in the token. Issued at the join time, so a
 * repeated join of a live entry gives back the very same token.
 */
export class QueueTokens {
  constructor(private readonly signer: TokenSigner) {}

  issue(claims: QueueTokenClaims): string {
    const { userId, concertId, tokenId, orderKey, joinedAt } = claims
    return this.signer.sign('queue', userId, { cid: concertId, jti: tokenId, ok: orderKey, jat: joinedAt }, QUEUE_TOKEN_TTL_S, joinedAt)
  }

  /** The claims of a validly signed `Queue-Token` header; 401 otherwise. */
  verify(header: string | undefined): QueueTokenClaims {
    if (typeof header !== 'string' || header.length === 0) {
      throw new AppError('QUEUE_TOKEN_INVALID', 'a Queue-Token header is required')
    }
    const payload = this.signer.verify('queue', header)
    if (payload === 'expired') throw new AppError('QUEUE_TOKEN_EXPIRED', 'the queue token has expired')
    if (
      payload === 'invalid' ||
      typeof payload.cid !== 'string' ||
      typeof payload.jti !== 'string' ||
      typeof payload.ok !== 'number' ||
      typeof payload.jat !== 'number'
    ) {
      throw new AppError('QUEUE_TOKEN_INVALID', 'the queue token is not valid')
    }
    return { userId: payload.sub, concertId: payload.cid, tokenId: payload.jti, orderKey: payload.ok, joinedAt: payload.jat }
  }
}
