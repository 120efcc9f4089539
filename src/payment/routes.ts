import { Type } from 'typebox'
import { userHook } from '../http/auth.js'
import { IdempotencyHeaders } from '../http/idempotency.js'
import { Id, problems, security } from '../http/schemas.js'
import type { App } from '../http/types.js'
import type { Services } from '../services.js'
import { notFound } from '../shared/errors.js'
import type { Payment } from './service.js'

const PaymentSchema = Type.Object({
  paymentId: Type.String(),
  reservationId: Type.String(),
  amount: Type.Integer(),
  balance: Type.Integer(),
  status: Type.Literal('PAID'),
})

const ROUTE = 'payments'

export function paymentRoutes(app: App, { payments, reservations, waitingRoom, idempotency, accessTokens }: Services) {
  app.post(
    '/v1/payments',
    {
      onRequest: userHook(accessTokens),
      // The gate runs after the replay check: a retry of a finished payment is answered even
      // once its queue token has ended.
      preHandler: async (request, reply) => {
        const body = request.body as { reservationId: string }
        const key = (request.headers as { 'idempotency-key'?: string })['idempotency-key']
        if (key !== undefined) {
          const answer = await idempotency.finished(request.userId, ROUTE, key, body)
          if (answer) return reply.status(201).send(answer.body as Payment)
        }
        const claims = waitingRoom.verifyToken(request.headers['queue-token'])
        request.queueClaims = claims
        const reservation = await reservations.find(request.userId, body.reservationId)
        await waitingRoom.admit(claims, request.userId, reservation?.concertId, {
          endedTokenMayPay: reservation?.status === 'HELD' && reservation.queueTokenId === claims.tokenId,
        })
        if (!reservation) throw notFound('reservation')
      },
      schema: {
        tags: ['payments'],
        summary: 'Pay for a held seat from your balance',
        description:
          'Gated. A retry whose Idempotency-Key matches a finished payment is replayed before the queue gate. A queue token that ended by a payment or by its hard limit may still pay the live holds taken under it. On success the queue token ends and its slot frees.',
        security: security.gated,
        headers: IdempotencyHeaders,
        body: Type.Object({ reservationId: Id }, { additionalProperties: false }),
        response: { 201: PaymentSchema, ...problems(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const { reservationId } = request.body
      const answer = await idempotency.run(request.userId, ROUTE, request.headers['idempotency-key'], request.body, async (trx) => ({
        status: 201,
        body: await payments.pay(request.userId, reservationId, trx),
      }))
      await waitingRoom.endAfterPayment(request.queueClaims!).catch((err: unknown) => {
        // Paid is paid: the token still ends by its idle limit.
        request.log.warn({ err }, 'could not end the queue token after payment')
      })
      return reply.status(201).send(answer.body)
    },
  )
}
