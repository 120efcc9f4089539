import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AccessTokens } from '../users/access-tokens.js'
import { authenticateThen } from '../users/hooks.js'
import type { QueueService } from './service.js'
import type { QueueClaims } from './tokens.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the gated hook: the validly signed Queue-Token. */
    queueClaims: QueueClaims | undefined
  }
}

/**
 * onRequest hook of a gated route: a valid Bearer token and a validly signed Queue-Token, else
 * 401, before the body is read. The route's use case then admits the request for the resource's
 * concert (`QueueService.admit`: 404, 403, and one store round trip that slides the admission).
 */
export const gatedHook =
  (accessTokens: AccessTokens, queue: QueueService) => (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) =>
    authenticateThen(accessTokens, request, done, () => {
      try {
        request.queueClaims = queue.verifyToken(request.headers['queue-token'] as string | undefined)
      } catch (err) {
        return done(err as Error)
      }
      done()
    })

/** The verified credentials a gated use case receives. */
export interface Admission {
  userId: string
  claims: QueueClaims
}

export const admissionOf = (request: FastifyRequest): Admission => ({ userId: request.userId, claims: request.queueClaims! })
