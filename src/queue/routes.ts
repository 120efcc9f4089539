import { Type } from 'typebox'
import { adminHook } from '../platform/http/admin.js'
import { perMinute } from '../platform/http/rate-limits.js'
import { DateTime, Id, problems, security } from '../platform/http/schemas.js'
import type { App } from '../platform/http/types.js'
import type { AccessTokens } from '../users/access-tokens.js'
import { userHook } from '../users/hooks.js'
import { MAX_PAYLOAD_LENGTH } from './challenges.js'
import type { QueueService } from './service.js'
import { QueueSettingsPatchSchema, QueueSettingsSchema } from './settings.js'

const QueueStatusSchema = Type.Object({
  token: Type.String({ description: 'Send as the Queue-Token header' }),
  concertId: Type.String(),
  status: Type.Union([Type.Literal('WAITING'), Type.Literal('ACTIVE'), Type.Literal('EXPIRED'), Type.Literal('SOLD_OUT')], {
    description: 'SOLD_OUT: every seat is sold; the fan keeps the place and is WAITING again if seats come back',
  }),
  position: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description: '1 = next in line; 0 when ACTIVE; null in the pre-queue and when EXPIRED',
  }),
  etaSeconds: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  pollAfterMs: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  activeUntil: Type.Union([DateTime, Type.Null()]),
  availableSeats: Type.Integer({ minimum: 0, description: 'seats of the concert neither held nor sold (at most 1 s old)' }),
})

/** An ALTCHA challenge (version 2 format): solve it, then join with the payload. */
const ChallengeSchema = Type.Object(
  {
    parameters: Type.Object({}, { additionalProperties: true }),
    signature: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
)

export function queueRoutes(
  app: App,
  { queue, accessTokens, adminKey, joinPerMin }: { queue: QueueService; accessTokens: AccessTokens; adminKey: string; joinPerMin: number },
) {
  const admin = { onRequest: adminHook(adminKey) }

  app.post(
    '/v1/concerts/:concertId/queue',
    {
      onRequest: userHook(accessTokens),
      // A join may come without a body: it is then an empty one.
      preValidation: (request, _reply, done) => {
        request.body ??= {}
        done()
      },
      ...perMinute(joinPerMin),
      schema: {
        tags: ['queue'],
        summary: 'Join the queue of a concert',
        description:
          'Idempotent per user and concert: joining again (another tab, a retry) returns the same token and place with 200. A concert whose joinChallenge is pow needs `altcha`, the payload of a solved challenge, for a new entry.',
        security: security.user,
        params: Type.Object({ concertId: Id }),
        body: Type.Object(
          { altcha: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_PAYLOAD_LENGTH, description: "ALTCHA's base64 payload" })) },
          { additionalProperties: false },
        ),
        response: { 200: QueueStatusSchema, 201: QueueStatusSchema, ...problems(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const { created, status } = await queue.join(request.userId, request.params.concertId, request.body.altcha)
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
        response: { 200: ChallengeSchema, ...problems(404) },
      },
    },
    async (request) => queue.challenge(request.params.concertId),
  )

  app.get(
    '/v1/queue/status',
    {
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
          200: Type.Object({
            waiting: Type.Integer(),
            active: Type.Integer(),
            admittedLastMinute: Type.Integer(),
            p50WaitSeconds: Type.Union([Type.Integer(), Type.Null()], {
              description: 'Median wait from joining to admission of those admitted in the last minute',
            }),
            config: QueueSettingsSchema,
          }),
          ...problems(401, 404),
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
