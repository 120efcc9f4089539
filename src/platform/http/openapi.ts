import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { pageHeaders } from './security-headers.js'
import type { App } from './types.js'

export async function registerOpenApi(app: App, version: string) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'stagedoor',
        version,
        description: 'Concert-ticket reservation with a built-in waiting room. Errors are application/problem+json with a stable `code`.',
      },
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
  })
  await app.register(swaggerUi, { routePrefix: '/docs', uiHooks: { onRequest: pageHeaders } })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
