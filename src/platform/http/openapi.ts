import swagger, { type OpenAPIV3_2 } from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { pageHeaders } from './security-headers.js'
import type { App } from './types.js'

/**
 * Swagger UI finds its document relative to the page's address, query string and all, so
 * `/docs?x` would look for it at `/docs?x/./json`: the page is served at its plain address.
 */
function docsHooks(request: FastifyRequest, reply: FastifyReply, done: () => void) {
  const query = request.url.indexOf('?')
  if (query >= 0 && /^\/docs\/?$/.test(request.url.slice(0, query))) {
    reply.redirect('/docs/', 302)
    return
  }
  pageHeaders(request, reply, done)
}

declare module 'fastify' {
  interface FastifySchema {
    /** The route takes a request without a body, or with `null`, as an empty one: its requestBody is documented as optional. */
    'x-optional-body'?: boolean
  }
}

type Operations = Record<string, Record<string, { 'x-optional-body'?: boolean; requestBody?: { required?: boolean } }>>

/** The document's operations marked `x-optional-body`: their requestBody is not required (the mark itself is dropped). */
function optionalBodies<T extends { paths?: unknown }>(doc: T): T {
  for (const operations of Object.values((doc.paths ?? {}) as Operations)) {
    for (const operation of Object.values(operations)) {
      if (!operation['x-optional-body']) continue
      delete operation['x-optional-body']
      if (operation.requestBody) operation.requestBody.required = false
    }
  }
  return doc
}

type OpenApiWebhooks = Record<string, OpenAPIV3_2.PathItemObject>

/** `webhooks`: what the service sends to other systems (OpenAPI 3.1), by name. */
export async function registerOpenApi(app: App, version: string, webhooks: Record<string, unknown> = {}) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'stagedoor',
        version,
        description: [
          'Concert-ticket reservation with a built-in waiting room.',
          'Errors are application/problem+json with a stable `code`; credentials are checked first (401), then the resource (404), then the right (403).',
          'No string, in a path, a query or a body, may contain a NUL character (U+0000) or a lone UTF-16 surrogate: 400.',
          'Timestamps are RFC 3339 with an offset within ±14:00, a real second (no `:60`) and a year from 1970 to 9999 once converted to UTC: anything else is 400.',
        ].join('\n\n'),
      },
      webhooks: webhooks as OpenApiWebhooks,
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: "From POST /v1/users (demo, a compact stagedoor token), or the deployment's identity provider (a JWT)",
          },
          queueToken: { type: 'apiKey', in: 'header', name: 'Queue-Token', description: 'From the waiting room' },
          adminKey: { type: 'apiKey', in: 'header', name: 'X-Admin-Key' },
        },
      },
    },
    transformObject: (documents) => optionalBodies('openapiObject' in documents ? documents.openapiObject : documents.swaggerObject),
  })
  await app.register(swaggerUi, { routePrefix: '/docs', uiHooks: { onRequest: docsHooks } })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
