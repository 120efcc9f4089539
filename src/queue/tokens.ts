import { AppError } from '../platform/errors.js'
import type { TokenSigner } from '../platform/signer.js'

const QUEUE_TOKEN_TTL_S = 7 * 24 * 3600

export interface QueueClaims {
  userId: string
  concertId: string
  tokenId: string
}

/**
 * `Queue-Token`: signed, carrying the user, the concert and the token id. Position is live state
 * in the store, never in the token. Issued at the join time, so a repeated join of a live entry
 * gives back the very same token.
 */
export class QueueTokens {
  constructor(private readonly signer: TokenSigner) {}

  issue(claims: QueueClaims, joinedAt: number): string {
    return this.signer.sign('queue', claims.userId, { cid: claims.concertId, jti: claims.tokenId }, QUEUE_TOKEN_TTL_S, joinedAt)
  }

  /** The claims of a validly signed `Queue-Token` header; 401 otherwise. */
  verify(header: string | undefined): QueueClaims {
    if (typeof header !== 'string' || header.length === 0) {
      throw new AppError('QUEUE_TOKEN_INVALID', 'a Queue-Token header is required')
    }
    const payload = this.signer.verify('queue', header)
    if (payload === 'expired') throw new AppError('QUEUE_TOKEN_EXPIRED', 'the queue token has expired')
    if (payload === 'invalid' || typeof payload.cid !== 'string' || typeof payload.jti !== 'string') {
      throw new AppError('QUEUE_TOKEN_INVALID', 'the queue token is not valid')
    }
    return { userId: payload.sub!, concertId: payload.cid, tokenId: payload.jti }
  }
}
