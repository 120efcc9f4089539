import { maxHeaderSize, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isConflict } from '../db/database.js'
import { AppError, type ErrorCode, errorCodes } from '../errors.js'
import { RedisUnavailable } from '../redis/scripts.js'
import { INSTANT_PATTERN, patternRules } from './schemas.js'

/** A 503 tells the client when to try again. */
const RETRY_AFTER_S = 5

const problemOf = (error: AppError) => ({
  type: `urn:stagedoor:problem:${error.code.toLowerCase().replaceAll('_', '-')}`,
  title: errorCodes[error.code].title,
  status: error.status,
  code: error.code,
  detail: error.detail,
  ...error.extra,
})

function sendProblem(reply: FastifyReply, error: AppError) {
  reply.headers(error.headers)
  if (error.status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', RETRY_AFTER_S)
  return reply.status(error.status).type('application/problem+json').send(problemOf(error))
}

/**
 * The longest path segment the router matches: as long as the longest request line the server
 * reads, so the router never refuses an id for its length before the route's credential checks;
 * the route's schema bounds it (400 naming the parameter) after them.
 */
export const MAX_PATH_SEGMENT = maxHeaderSize

/** Refusals the router makes before a route runs: a URL that does not decode, or a path segment it will not match. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  const refusal =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new AppError('URI_TOO_LONG', `a path segment is longer than ${MAX_PATH_SEGMENT} characters`)
      : error.code === 'FST_ERR_BAD_URL'
        ? new AppError('MALFORMED_REQUEST', 'the URL is not valid: it does not decode as UTF-8')
        : new AppError('MALFORMED_REQUEST', 'the request could not be routed')
  return sendProblem(reply, refusal)
}

/**
 * Refusals the HTTP parser makes before a request exists (headers too large, a request that took
 * too long to arrive, bytes that are not HTTP): a problem document, and the connection closes.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket) {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const error =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError('HEADERS_TOO_LARGE', 'the request line or headers are too large')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AppError('REQUEST_TIMEOUT', 'the request did not arrive in time')
        : new AppError('MALFORMED_REQUEST', 'the request is not valid HTTP')
  const body = JSON.stringify(problemOf(error))
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
  )
}

const TIMESTAMP = 'an RFC 3339 date-time with an offset within ±14:00, no leap second, and a year from 1970 to 9999 in UTC'

/** Fastify's validation output as one problem that names the field. */
function validationProblem(error: FastifyError): AppError {
  const first = error.validation![0]!
  const params = first.params as Record<string, unknown>
  let path = first.instancePath.replace(/^\//, '').replaceAll('/', '.')
  const child = (params.missingProperty ?? params.additionalProperty) as string | undefined
  if (child) path = path ? `${path}.${child}` : child
  const field = path || (error.validationContext ?? 'body')
  let message = first.message ?? 'is invalid'
  if (params.additionalProperty) message = 'is not a known property'
  if (params.missingProperty) message = 'is required'
  if (typeof params.pattern === 'string') message = patternRules[params.pattern] ?? message
  if (params.allowedValues) message += `: ${(params.allowedValues as unknown[]).join(', ')}`
  // The timestamp's pattern and its format are one rule to the client.
  if (params.format === 'date-time' || params.pattern === INSTANT_PATTERN) message = `must be ${TIMESTAMP}`
  return new AppError('VALIDATION_FAILED', `${error.validationContext ?? 'body'} field '${field}' ${message}`, { field })
}

/** The framework's own client errors (bad JSON, wrong content type, sizes) by status; any other 4xx is a malformed request. */
const frameworkRefusals: Partial<Record<number, ErrorCode>> = {
  400: 'MALFORMED_REQUEST',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
}

/**
 * Errors of the database or Redis being unreachable, or of a statement PostgreSQL rolled back so
 * that others could go on (a deadlock's victim, a serialization failure, once retried): the
 * client gets 503, to retry later, not 500.
 */
function isDependencyDown(error: unknown): boolean {
  const e = error as { code?: string; name?: string; message?: string }
  if (!e || typeof e !== 'object') return false
  const code = e.code ?? ''
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P03', '53300'].includes(code) ||
    isConflict(error) ||
    code.startsWith('08') ||
    e.name === 'MaxRetriesPerRequestError' ||
    error instanceof RedisUnavailable ||
    /Connection is closed|Connection terminated|timeout exceeded when trying to connect|Command timed out|Query read timeout|canceling statement due to statement timeout|Stream isn't writeable|ClusterAllFailedError|Failed to refresh slots cache/i.test(
      e.message ?? '',
    )
  )
}

export function installErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) return sendProblem(reply, error)
    if (error.validation) return sendProblem(reply, validationProblem(error))
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      return sendProblem(reply, new AppError(frameworkRefusals[status] ?? 'MALFORMED_REQUEST', error.message))
    }
    if (isDependencyDown(error)) {
      request.log.error({ err: error }, 'dependency unavailable')
      return sendProblem(reply, new AppError('DEPENDENCY_UNAVAILABLE', 'a backing service is unavailable; retry later'))
    }
    request.log.error({ err: error }, 'unhandled error')
    return sendProblem(reply, new AppError('INTERNAL', 'an internal error occurred'))
  })

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new AppError('NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`)),
  )
}
