import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { Claim } from '../idempotency/service.js'
import { userHook } from '../http/auth.js'
import { IdempotencyHeaders } from '../http/idempotency.js'
import { Id, problems, security } from '../http/schemas.js'
import type { App } from '../http/types.js'
import type { Services } from '../services.js'
import type { Payment } from './service.js'

const PaymentSchema = Type.Object({
  paymentId: Type.String(),
  reservationId: Type.String(),
  amount: Type.Integer(),
  balance: Type.Integer(),
  status: Type.Literal('PAID'),
})

const ROUTE = 'payments'
/** The idempotency key each payment request holds, from the gate to the work. */
const claims = new WeakMap<FastifyRequest, Claim>()
/** The concert an ACTIVE token admits to, which the reservation paid for must belong to. */
const payingConcert = new WeakMap<FastifyRequest, string>()

export function paymentRoutes(app: App, { payments, reservations, waitingRoom, idempotency, accessTokens, database }: Services) {
  app.post(
    '/v1/payments',
    {
      onRequest: userHook(accessTokens),
      // The gate runs after the replay check: a retry of a finished payment is answered even
      // once its queue token has ended.
      preHandler: async (request, reply) => {
        const body = request.body as { reservationId: string }
        const key = (request.headers as { 'idempotency-key'?: string })['idempotency-key']
        let claim: Claim | undefined
        if (key !== undefined) {
          const claimed = await idempotency.begin(request.userId, ROUTE, key, body)
          if (!(claimed instanceof Claim)) return reply.status(201).send(claimed.body as Payment)
          claim = claimed
          claims.set(request, claimed)
        }
        try {
          const queueClaims = waitingRoom.verifyToken(request.headers['queue-token'])
          request.queueClaims = queueClaims
          // The common case costs one store read: an ACTIVE token for its own concert. The
          // reservation is then checked inside the payment itself (404 if not this user's, 403
          // if of another concert). Anything else needs the reservation to decide.
          if (await waitingRoom.isActive(queueClaims, request.userId)) {
            payingConcert.set(request, queueClaims.concertId)
          } else {
            const reservation = await reservations.find(request.userId, body.reservationId)
            await waitingRoom.admit(queueClaims, request.userId, reservation?.concertId, {
              slide: false,
              endedTokenMayPay: reservation?.status === 'HELD' && reservation.queueTokenId === queueClaims.tokenId,
            })
          }
        } catch (err) {
          if (claim) await idempotency.abandon(claim)
          throw err
        }
      },
      schema: {
        tags: ['payments'],
        summary: 'Pay for a held seat from your balance',
        description:
          'Gated. A retry whose Idempotency-Key matches a finished payment is replayed before the queue gate. A queue token that has ended (by a payment, or by its hard limit) may still pay the live holds taken under it, until their heldUntil. On success the queue token ends and its slot frees.',
        security: security.gated,
        headers: IdempotencyHeaders,
        body: Type.Object({ reservationId: Id }, { additionalProperties: false }),
        response: { 201: PaymentSchema, ...problems(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const concertId = payingConcert.get(request)
      const claim = claims.get(request)
      // One statement pays and, with a key, stores the answer on it.
      const pay = () => payments.pay(request.userId, request.body.reservationId, database.db, concertId, claim)
      const payment = claim ? await idempotency.completeInline(claim, pay) : await pay()
      await waitingRoom.endAfterPayment(request.queueClaims!).catch((err: unknown) => {
        // Paid is paid: the token still ends by its idle limit.
        request.log.warn({ err }, 'could not end the queue token after payment')
      })
      return reply.status(201).send(payment)
    },
  )
}
