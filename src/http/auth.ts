import { timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { AccessTokens } from '../auth/access-tokens.js'
import { AppError } from '../shared/errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `user` hook: the authenticated user. */
    userId: string
  }
}

/** onRequest hook: a valid Bearer access token, else 401. */
export const userHook = (tokens: AccessTokens) => async (request: FastifyRequest) => {
  request.userId = await tokens.authenticate(request.headers.authorization)
}

/** onRequest hook: the `X-Admin-Key` header matches, else 401. */
export const adminHook = (adminKey: string) => {
  const expected = Buffer.from(adminKey)
  return async (request: FastifyRequest) => {
    const given = request.headers['x-admin-key']
    const actual = Buffer.from(typeof given === 'string' ? given : '')
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
      throw new AppError(401, 'UNAUTHENTICATED', 'a valid X-Admin-Key header is required')
    }
  }
}
