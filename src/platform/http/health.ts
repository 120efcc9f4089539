import { sql } from 'kysely'
import { Type } from 'typebox'
import type { Db } from '../db/database.js'
import type { Metrics } from '../metrics.js'
import type { RedisClient } from '../redis/client.js'
import { adminHook } from './admin.js'
import { problems, security } from './schemas.js'
import type { App } from './types.js'

export function healthRoutes(app: App, { db, redis }: { db: Db; redis: RedisClient | undefined }) {
  app.get(
    '/health',
    {
      logLevel: 'warn',
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/ready',
    {
      logLevel: 'warn',
      schema: {
        tags: ['health'],
        summary: 'Readiness: the database (and Redis, when configured) answer',
        response: { 200: Type.Object({ status: Type.Literal('ready') }), ...problems(503) },
      },
    },
    async () => {
      await sql`select 1`.execute(db)
      if (redis) await redis.ping()
      return { status: 'ready' as const }
    },
  )
}

export function metricsRoute(app: App, { metrics, adminKey }: { metrics: Metrics; adminKey: string }) {
  app.get(
    '/metrics',
    {
      onRequest: adminHook(adminKey),
      logLevel: 'warn',
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics: cache hits and loads, process memory, event-loop lag',
        security: security.admin,
        produces: ['text/plain'],
        response: { 200: Type.String(), ...problems(401) },
      },
    },
    async (_request, reply) => {
      reply.type(metrics.registry.contentType)
      return metrics.registry.metrics()
    },
  )
}
