import { Type } from 'typebox'
import { Id, IdempotencyHeaders, problems, security } from '../platform/http/schemas.js'
import type { App } from '../platform/http/types.js'
import type { AccessTokens } from '../users/access-tokens.js'
import { userHook } from '../users/hooks.js'
import type { PaymentService } from './service.js'

const PaymentSchema = Type.Object({
  paymentId: Type.String(),
  reservationId: Type.String(),
  amount: Type.Integer(),
  balance: Type.Integer(),
  status: Type.Literal('PAID'),
})

export function paymentRoutes(app: App, { payments, accessTokens }: { payments: PaymentService; accessTokens: AccessTokens }) {
  app.post(
    '/v1/payments',
    {
      onRequest: userHook(accessTokens),
      schema: {
        tags: ['payments'],
        summary: 'Pay for a held seat from your balance',
        description:
          'Gated. A retry whose Idempotency-Key matches a finished payment is replayed before the queue gate. A queue token that has ended by its payment or by its hard limit may still pay the live holds taken under it, until their heldUntil. On success the queue token ends and its slot frees.',
        security: security.gated,
        headers: IdempotencyHeaders,
        body: Type.Object({ reservationId: Id }, { additionalProperties: false }),
        response: { 201: PaymentSchema, ...problems(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const payment = await payments.pay({
        userId: request.userId,
        reservationId: request.body.reservationId,
        queueToken: request.headers['queue-token'] as string | undefined,
        idempotencyKey: request.headers['idempotency-key'],
      })
      return reply.status(201).send(payment)
    },
  )
}
