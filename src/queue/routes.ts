import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { adminHook } from '../platform/http/admin.js'
import { uncompressed } from '../platform/http/compression.js'
import { clientAddress, RATE_WINDOW_MS } from '../platform/http/rate-limits.js'
import { Id, problems, security } from '../platform/http/schemas.js'
import type { Routes } from '../platform/http/types.js'
import type { AccessTokens } from '../users/access-tokens.js'
import { userHook } from '../users/hooks.js'
import { ChallengeSchema, JoinBody, QueueReportSchema, QueueStatusSchema } from './schemas.js'
import type { QueueService } from './service.js'
import { QueueSettingsPatchSchema, QueueSettingsSchema } from './settings.js'
import type { JoinLimit } from './store.js'

export const queueRoutes: Routes<{ queue: QueueService; accessTokens: AccessTokens; adminKey: string; joinPerMin: number }> = (
  app,
  { queue, accessTokens, adminKey, joinPerMin },
) => {
  const admin = { onRequest: adminHook(adminKey) }
  // Joins count against their address's limit in the join itself: one round trip to the store.
  const joinLimit = (request: FastifyRequest): JoinLimit | undefined =>
    joinPerMin > 0 ? { address: clientAddress(request), perWindow: joinPerMin, windowMs: RATE_WINDOW_MS } : undefined

  app.post(
    '/v1/concerts/:concertId/queue',
    {
      onRequest: userHook(accessTokens),
      ...uncompressed,
      // A join may come without a body: it is then an empty one.
      preValidation: (request, _reply, done) => {
        request.body ??= {}
        done()
      },
      schema: {
        tags: ['queue'],
        summary: 'Join the queue of a concert',
        description:
          'Idempotent per user and concert: joining again (another tab, a retry) returns the same token and place with 200. A concert whose joinChallenge is pow needs `altcha`, the payload of a solved challenge, for a new entry. On a concert with presaleOpensAt, until saleOpensAt a new entry needs `code`, a presale code (403 PRESALE_CODE_REQUIRED, PRESALE_CODE_INVALID, PRESALE_CODE_USED); a refused code counts against the join limit like any join. Joins of one client address to one concert are limited (RATE_JOIN_PER_MIN a minute): 429 RATE_LIMITED with Retry-After.',
        security: security.user,
        params: Type.Object({ concertId: Id }),
        'x-optional-body': true,
        body: JoinBody,
        response: { 200: QueueStatusSchema, 201: QueueStatusSchema, ...problems(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const { created, status } = await queue.join(request.userId, request.params.concertId, request.body, joinLimit(request))
      return reply.status(created ? 201 : 200).send(status)
    },
  )

  app.get(
    '/v1/concerts/:concertId/queue/challenge',
    {
      schema: {
        tags: ['queue'],
        summary: 'A proof-of-work challenge to solve before joining (concerts whose joinChallenge is pow)',
        params: Type.Object({ concertId: Id }),
        response: { 200: ChallengeSchema, ...problems(400, 404) },
      },
    },
    async (request) => queue.challenge(request.params.concertId),
  )

  app.get(
    '/v1/queue/status',
    {
      ...uncompressed,
      schema: {
        tags: ['queue'],
        summary: 'Place in line, wait estimate and when to ask again',
        security: security.queue,
        response: { 200: QueueStatusSchema, ...problems(401) },
      },
    },
    (request) => queue.status(request.headers['queue-token'] as string | undefined),
  )

  app.delete(
    '/v1/queue',
    {
      schema: {
        tags: ['queue'],
        summary: 'Leave the line, or give up the active slot',
        security: security.queue,
        response: { 204: Type.Null(), ...problems(401) },
      },
    },
    async (request, reply) => {
      await queue.leave(request.headers['queue-token'] as string | undefined)
      return reply.status(204).send(null)
    },
  )

  app.get(
    '/v1/admin/concerts/:concertId/queue',
    {
      ...admin,
      schema: {
        tags: ['admin'],
        summary: "The queue's figures and settings",
        security: security.admin,
        params: Type.Object({ concertId: Id }),
        response: {
          200: QueueReportSchema,
          ...problems(400, 401, 404),
        },
      },
    },
    async (request) => queue.report(request.params.concertId),
  )

  app.patch(
    '/v1/admin/concerts/:concertId/queue',
    {
      ...admin,
      schema: {
        tags: ['admin'],
        summary: 'Pause, resume, or change the admission rate and cap live',
        description: 'Takes effect on every process within one tick.',
        security: security.admin,
        params: Type.Object({ concertId: Id }),
        body: QueueSettingsPatchSchema,
        response: { 200: QueueSettingsSchema, ...problems(400, 401, 404) },
      },
    },
    async (request) => queue.configure(request.params.concertId, request.body),
  )
}
