import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AccessTokens } from './access-tokens.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `user` hook: the authenticated user. */
    userId: string
  }
}

type Done = (err?: Error) => void

/**
 * Authenticates a request (a valid Bearer access token, else 401), then calls `next`. A demo
 * token, or one verified before, is known at once: only a token still to be verified costs a
 * promise, as authentication is on every booking request.
 */
export function authenticateThen(tokens: AccessTokens, request: FastifyRequest, done: Done, next: () => void) {
  let user: string | Promise<string>
  try {
    user = tokens.authenticate(request.headers.authorization)
  } catch (err) {
    return done(err as Error)
  }
  if (typeof user === 'string') {
    request.userId = user
    return next()
  }
  user.then((id) => {
    request.userId = id
    next()
  }, done)
}

/** onRequest hook: a valid Bearer access token, else 401. Runs before the body is read, so 401 comes before 400. */
export const userHook = (tokens: AccessTokens) => (request: FastifyRequest, _reply: FastifyReply, done: Done) =>
  authenticateThen(tokens, request, done, done)
