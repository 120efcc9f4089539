import { sql } from 'kysely'
import { Type } from 'typebox'
import type { Db } from '../db/database.js'
import { AppError } from '../errors.js'
import type { Metrics } from '../metrics.js'
import type { RedisClient } from '../redis/client.js'
import { adminHook } from './admin.js'
import { problems, security } from './schemas.js'
import type { App, Routes } from './types.js'

/** Fails with `what` after `ms`, so a dependency that does not answer cannot hold a check. */
function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AppError('DEPENDENCY_UNAVAILABLE', `${what} did not answer in time`)), ms)
  })
  return Promise.race([work, late]).finally(() => clearTimeout(timer))
}

async function check(ms: number, what: string, work: () => Promise<unknown>) {
  try {
    await within(ms, what, work())
  } catch (err) {
    if (err instanceof AppError) throw err
    throw new AppError('DEPENDENCY_UNAVAILABLE', `${what} is unavailable`)
  }
}

export const healthRoutes: Routes<{ db: Db; redis: RedisClient | undefined; draining: () => boolean; timeoutMs: number }> = (
  app,
  { db, redis, draining, timeoutMs },
) => {
  app.get(
    '/health',
    {
      logLevel: 'warn',
      // Liveness answers even when the event loop lags: overload is not death.
      config: { pressureHandler: () => undefined },
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
        summary: 'Readiness: the database (and Redis, when configured) answer, and the process is not shutting down',
        response: { 200: Type.Object({ status: Type.Literal('ready') }), ...problems(503) },
      },
    },
    async () => {
      if (draining()) throw new AppError('SHUTTING_DOWN', 'this process is shutting down')
      await Promise.all([
        check(timeoutMs, 'the database', () => sql`select 1`.execute(db)),
        redis &&
          check(timeoutMs, 'Redis', async () => {
            if (redis.status !== 'ready') throw new Error('Redis is not connected')
            await redis.ping()
          }),
      ])
      return { status: 'ready' as const }
    },
  )
}

/** Every answer is counted and timed by route, method and status, for `GET /metrics`. */
export function installRequestMetrics(app: App, metrics: Metrics) {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.request(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000)
    done()
  })
}

export const metricsRoutes: Routes<{ metrics: Metrics; adminKey: string }> = (app, { metrics, adminKey }) => {
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
