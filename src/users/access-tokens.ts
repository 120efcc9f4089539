import { unauthenticated } from '../platform/errors.js'
import type { TokenSigner } from '../platform/signer.js'
import type { IdpTokens } from './idp-tokens.js'

const ACCESS_TTL_S = 30 * 24 * 3600
/** Longer Bearer tokens are refused unread: an identity provider's tokens are a few kilobytes at most. */
const MAX_TOKEN_LENGTH = 8192
const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i

/**
 * Bearer access tokens: who the user is. A token shaped like ours (`sd1.` first) is a demo
 * token, checked at once without a promise, as it is on every gated request; any other goes to
 * the identity provider when one is configured. With demo sign-up off, demo tokens are refused
 * too, even ones issued before: only the provider's people stand in line.
 */
export class AccessTokens {
  constructor(
    private readonly signer: TokenSigner,
    private readonly demoTokens = true,
    private readonly idp?: IdpTokens,
  ) {}

  issue(userId: string): string {
    return this.signer.sign('access', userId, {}, ACCESS_TTL_S)
  }

  /** The user id of a valid `Authorization: Bearer` header value (a promise for a token not yet verified); 401 otherwise. */
  authenticate(header: string | undefined): string | Promise<string> {
    if (!header) throw unauthenticated()
    if (header.length > 'Bearer '.length + MAX_TOKEN_LENGTH) throw unauthenticated('the access token is too long')
    const match = BEARER.exec(header)
    if (!match) throw unauthenticated('the Authorization header must be "Bearer <accessToken>"')
    const token = match[1]!
    if (this.idp !== undefined && !this.signer.hasOwnHeader(token)) return this.idp.authenticate(token)
    if (!this.demoTokens) throw unauthenticated('demo access tokens are not accepted: sign in with the identity provider')
    const payload = this.signer.verify('access', token)
    if (payload === 'expired') throw unauthenticated('the access token has expired')
    if (payload === 'invalid') throw unauthenticated('the access token is not valid')
    return payload.sub
  }
}
