import type { FastifyRequest, onRequestHookHandler, preHandlerHookHandler } from 'fastify'
import type { Services } from '../services.js'
import type { QueueClaims } from './tokens.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the gate: the verified Queue-Token. */
    queueClaims: QueueClaims | undefined
  }
}

/**
 * The gate a route declares: `...gate(services, (request) => concertIdOf(request))`.
 * Credentials are checked before the body is (401 comes first); the resource's concert is
 * resolved after validation (404), then the token must be this user's, for this concert, and
 * ACTIVE (403) — one store round trip, which also slides the admission.
 */
export function gate(
  { accessTokens, waitingRoom }: Pick<Services, 'accessTokens' | 'waitingRoom'>,
  concertOf: (request: FastifyRequest) => Promise<string | undefined>,
): { onRequest: onRequestHookHandler; preHandler: preHandlerHookHandler } {
  return {
    onRequest: async (request) => {
      request.userId = await accessTokens.authenticate(request.headers.authorization)
      request.queueClaims = await waitingRoom.verifyToken(request.headers['queue-token'])
    },
    preHandler: async (request) => {
      await waitingRoom.admit(request.queueClaims!, request.userId, await concertOf(request))
    },
  }
}
