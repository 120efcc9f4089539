import { Type } from 'typebox'
import { adminHook } from '../platform/http/admin.js'
import { uncompressed } from '../platform/http/compression.js'
import { Id, IdempotencyHeaders, problems, security } from '../platform/http/schemas.js'
import type { Routes } from '../platform/http/types.js'
import type { AccessTokens } from '../users/access-tokens.js'
import { userHook } from '../users/hooks.js'
import type { RefundService } from './refunds.js'
import { CancellationSchema, PaymentBody, PaymentSchema, RefundSchema } from './schemas.js'
import type { PaymentService } from './service.js'

export const paymentRoutes: Routes<{ payments: PaymentService; refunds: RefundService; accessTokens: AccessTokens; adminKey: string }> = (
  app,
  { payments, refunds, accessTokens, adminKey },
) => {
  app.post(
    '/v1/payments',
    {
      onRequest: userHook(accessTokens),
      ...uncompressed,
      schema: {
        tags: ['payments'],
        summary: 'Pay for a held seat from your balance',
        description:
          'Gated. A retry whose Idempotency-Key matches a finished payment is replayed before the queue gate. A queue token that has ended by its payment or by its hard limit may still pay the live holds taken under it, until their heldUntil. On success the queue token ends and its slot frees.',
        security: security.gated,
        headers: IdempotencyHeaders,
        body: PaymentBody,
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

  app.post(
    '/v1/reservations/:reservationId/refund',
    {
      onRequest: userHook(accessTokens),
      schema: {
        tags: ['payments'],
        summary: 'Refund your paid seat to your balance',
        description:
          "No queue token needed. Under the concert's refund policy: until refundableUntilHours before the date, the price less feePercent (rounded down to whole won) goes back to the balance as a ledger entry, and the seat is free at once (fans still in line get it first). A payment is refunded at most once; with an Idempotency-Key a retry replays the first answer. 409 REFUND_NOT_ALLOWED (no policy, or too close to the date), NOT_PAID, ALREADY_REFUNDED, SCHEDULE_CANCELLED (the cancellation refunds it in full).",
        security: security.user,
        headers: IdempotencyHeaders,
        params: Type.Object({ reservationId: Id }),
        response: { 201: RefundSchema, ...problems(400, 401, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const refund = await refunds.refund({
        userId: request.userId,
        reservationId: request.params.reservationId,
        idempotencyKey: request.headers['idempotency-key'],
      })
      return reply.status(201).send(refund)
    },
  )

  const admin = adminHook(adminKey)
  const cancellation = {
    tags: ['admin'],
    security: security.admin,
    params: Type.Object({ scheduleId: Id }),
  }

  app.post(
    '/v1/admin/schedules/:scheduleId/cancellation',
    {
      onRequest: admin,
      schema: {
        ...cancellation,
        summary: 'Cancel a date: every paid seat refunded in full, every hold released',
        description:
          'From the answer on the date takes no hold or payment (409 SCHEDULE_CANCELLED) and leaves the fans\u2019 list of dates. Its paid seats are refunded in full in batches by every process (work a process leaves when it dies is taken over), each exactly once; the date is CANCELLED when all are. Asking again changes nothing and answers the progress.',
        response: { 202: CancellationSchema, ...problems(400, 401, 404) },
      },
    },
    async (request, reply) => reply.status(202).send(await refunds.cancelSchedule(request.params.scheduleId)),
  )

  app.get(
    '/v1/admin/schedules/:scheduleId/cancellation',
    {
      onRequest: admin,
      schema: {
        ...cancellation,
        summary: "A date's cancellation and its progress",
        response: { 200: CancellationSchema, ...problems(400, 401, 404) },
      },
    },
    async (request) => refunds.cancellation(request.params.scheduleId),
  )
}
