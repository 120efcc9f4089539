import { sql } from 'kysely'
import { Type } from 'typebox'
import type { Services } from '../services.js'
import { problems } from './schemas.js'
import type { App } from './types.js'

export function healthRoutes(app: App, { database, redis }: Services) {
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
      await sql`select 1`.execute(database.db)
      if (redis) await redis.ping()
      return { status: 'ready' as const }
    },
  )
}
