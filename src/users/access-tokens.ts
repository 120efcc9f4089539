import { unauthenticated } from '../platform/errors.js'
import type { TokenSigner } from '../platform/signer.js'

const ACCESS_TTL_S = 30 * 24 * 3600

/** Bearer access tokens: who the user is. */
export class AccessTokens {
  constructor(private readonly signer: TokenSigner) {}

  issue(userId: string): string {
    return this.signer.sign('access', userId, {}, ACCESS_TTL_S)
  }

  /** The user id of a valid `Authorization: Bearer` header value; 401 otherwise. */
  authenticate(header: string | undefined): string {
    if (!header) throw unauthenticated()
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header)
    if (!match) throw unauthenticated('the Authorization header must be "Bearer <accessToken>"')
    const payload = this.signer.verify('access', match[1]!)
    if (payload === 'expired') throw unauthenticated('the access token has expired')
    if (payload === 'invalid') throw unauthenticated('the access token is not valid')
    return payload.sub!
  }
}
