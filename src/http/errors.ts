import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify'
import { AppError } from '../shared/errors.js'

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

export function sendProblem(reply: FastifyReply, error: AppError) {
  return reply
    .status(error.status)
    .type('application/problem+json')
    .send({
      type: `urn:stagedoor:problem:${error.code.toLowerCase().replaceAll('_', '-')}`,
      title: titles[error.status] ?? 'Error',
      status: error.status,
      code: error.code,
      detail: error.detail,
      ...error.extra,
    })
}

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
  if (params.allowedValues) message += `: ${(params.allowedValues as unknown[]).join(', ')}`
  return new AppError(400, 'VALIDATION_FAILED', `${error.validationContext ?? 'body'} field '${field}' ${message}`, {
    field,
  })
}

/** Errors of the database or Redis being unreachable: the client gets 503, not 500. */
function isDependencyDown(error: unknown): boolean {
  const e = error as { code?: string; name?: string; message?: string }
  if (!e || typeof e !== 'object') return false
  const code = e.code ?? ''
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P03', '53300'].includes(code) ||
    code.startsWith('08') ||
    e.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Connection terminated|timeout exceeded when trying to connect|Stream isn't writeable|ClusterAllFailedError|Failed to refresh slots cache/i.test(e.message ?? '')
  )
}

export function installErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) return sendProblem(reply, error)
    if (error.validation) return sendProblem(reply, validationProblem(error))
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      // Fastify's own client errors: malformed JSON, wrong content type, body too large.
      const code = status === 400 ? 'MALFORMED_REQUEST' : (error.code ?? 'CLIENT_ERROR').replace(/^FST_ERR_/, '')
      return sendProblem(reply, new AppError(status, code, error.message))
    }
    if (isDependencyDown(error)) {
      request.log.error({ err: error }, 'dependency unavailable')
      return sendProblem(reply, new AppError(503, 'SERVICE_UNAVAILABLE', 'a backing service is unavailable; retry later'))
    }
    request.log.error({ err: error }, 'unhandled error')
    return sendProblem(reply, new AppError(500, 'INTERNAL', 'an internal error occurred'))
  })

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new AppError(404, 'NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`)),
  )
}
