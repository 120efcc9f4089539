import underPressure from '@fastify/under-pressure'
import { AppError } from '../errors.js'
import type { App } from './types.js'

const OVERLOAD_RETRY_AFTER_S = 2

/**
 * While the event loop lags more than `maxLagMs` (0: never), a request is refused at once with
 * 503 OVERLOADED and Retry-After, before any route runs; a route may opt out (liveness does).
 */
export async function installOverloadProtection(app: App, maxLagMs: number) {
  await app.register(underPressure, {
    maxEventLoopDelay: maxLagMs,
    pressureHandler: async (_request, reply) => {
      reply.header('retry-after', OVERLOAD_RETRY_AFTER_S)
      throw new AppError('OVERLOADED', 'the service is overloaded; retry shortly')
    },
  })
}
