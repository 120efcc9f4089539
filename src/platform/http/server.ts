import { createServer } from 'node:http'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyServerOptions } from 'fastify'
import { clientErrorHandler, frameworkErrors, MAX_PATH_SEGMENT } from './problems.js'
import { requestLoggers } from './request-logger.js'
import { requestIdOf } from './requests.js'
import type { App } from './types.js'

/** The HTTP server and its framework, with the bounds every request has before any hook runs. */
export function createHttpApp({
  logger,
  requestTimeoutMs,
  trustProxy,
}: {
  logger: FastifyServerOptions['logger']
  requestTimeoutMs: number
  trustProxy: FastifyServerOptions['trustProxy']
}): App {
  return Fastify({
    logger,
    // Request loggers bind the request id when they first log, not on every request.
    ...(logger ? { childLoggerFactory: requestLoggers } : {}),
    requestIdHeader: false,
    genReqId: requestIdOf,
    bodyLimit: 64 * 1024,
    // A request's headers and body must arrive within REQUEST_TIMEOUT_MS; the server looks for
    // late ones every second, so a trickling client is cut within a second of its deadline.
    serverFactory: (handler) =>
      createServer({ requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs, connectionsCheckingInterval: 1000 }, handler),
    clientErrorHandler,
    frameworkErrors,
    // Ids in paths are bounded by the routes' schemas, after their credential checks (401 first).
    routerOptions: { maxParamLength: MAX_PATH_SEGMENT },
    // Whom to believe about the client's address (X-Forwarded-For): no one unless configured.
    trustProxy,
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>()
}
