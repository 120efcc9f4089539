import type { FastifyRequest } from 'fastify'
import type { AccessTokens } from './access-tokens.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `user` hook: the authenticated user. */
    userId: string
  }
}

/**
 * onRequest hook: a valid Bearer access token, else 401. Runs before the body is read, so 401
 * comes before 400. Only a token still to be verified is awaited: a demo token, or one verified
 * before, is known at once.
 */
export const userHook = (tokens: AccessTokens) => async (request: FastifyRequest) => {
  const user = tokens.authenticate(request.headers.authorization)
  request.userId = typeof user === 'string' ? user : await user
}
