import { Type } from 'typebox'
import { adminHook } from '../platform/http/admin.js'
import { uncompressed } from '../platform/http/compression.js'
import { perMinute } from '../platform/http/rate-limits.js'
import { Id, IdempotencyHeaders, problems, security } from '../platform/http/schemas.js'
import type { Routes } from '../platform/http/types.js'
import { credentialsOf, gatedHook, type QueueGate } from '../queue/gate.js'
import type { AccessTokens } from '../users/access-tokens.js'
import { userHook } from '../users/hooks.js'
import type { Reservation } from './repository.js'
import { DatesSchema, HeldSchema, HoldBody, OperatorDatesSchema, ReservationSchema, SeatMapQuery, SeatMapSchema } from './schemas.js'
import { type DateView, FULL_FORM_MAX_SEATS, type ReservationService } from './service.js'

const datesView = <D extends DateView>(dates: D[]) => ({ items: dates.map((d) => ({ ...d, startsAt: d.startsAt.toISOString() })) })

const reservationView = (r: Reservation) => ({
  reservationId: r.reservationId,
  concertId: r.concertId,
  scheduleId: r.scheduleId,
  seatNo: r.seatNo,
  price: r.price,
  status: r.status,
  heldUntil: r.heldUntil.toISOString(),
  createdAt: r.createdAt.toISOString(),
  startsAt: r.startsAt.toISOString(),
})

export const reservationRoutes: Routes<{
  reservations: ReservationService
  gate: QueueGate
  accessTokens: AccessTokens
  holdTtlS: number
  holdMaxPerUser: number
  holdPerMin: number
  adminKey: string
}> = (app, { reservations, gate, accessTokens, holdTtlS, holdMaxPerUser, holdPerMin, adminKey }) => {
  const gated = { onRequest: gatedHook(accessTokens, gate) }

  app.get(
    '/v1/concerts/:concertId/schedules',
    {
      ...gated,
      schema: {
        tags: ['reservations'],
        summary: 'Bookable dates of a concert, with free seats',
        description: 'Gated: needs an ACTIVE Queue-Token for this concert.',
        security: security.gated,
        params: Type.Object({ concertId: Id }),
        response: { 200: DatesSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => datesView(await reservations.dates(credentialsOf(request), request.params.concertId)),
  )

  app.get(
    '/v1/admin/concerts/:concertId/schedules',
    {
      onRequest: adminHook(adminKey),
      schema: {
        tags: ['admin'],
        summary: 'Upcoming dates of a concert, with free seats, cancelled ones included',
        security: security.admin,
        params: Type.Object({ concertId: Id }),
        response: { 200: OperatorDatesSchema, ...problems(400, 401, 404) },
      },
    },
    async (request) => datesView(await reservations.datesForOperators(request.params.concertId)),
  )

  app.get(
    '/v1/schedules/:scheduleId/seats',
    {
      ...gated,
      // The cached body is compressed once, by SharedJson, not on every answer.
      ...uncompressed,
      schema: {
        tags: ['reservations'],
        summary: 'The seat map of a date, with each seat available, held or sold',
        description: `\`full\` lists every seat; \`compact\` gives the sections and the held and sold seat numbers (every other seat is available). Default: full up to ${FULL_FORM_MAX_SEATS} seats, compact above; \`full\` of a larger date is refused with 400 FORMAT_TOO_LARGE. Answers of 2 KB and more come compressed (br or gzip) when Accept-Encoding allows.`,
        security: security.gated,
        params: Type.Object({ scheduleId: Id }),
        querystring: SeatMapQuery,
        response: {
          200: SeatMapSchema,
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const body = await reservations.seatMapBody(credentialsOf(request), request.params.scheduleId, request.query.format)
      // Already serialised in the response's shape (a Buffer body skips the schema serializer).
      return body.send(request, reply)
    },
  )

  app.post(
    '/v1/reservations',
    {
      ...gated,
      ...perMinute(holdPerMin, (request) => request.userId),
      ...uncompressed,
      schema: {
        tags: ['reservations'],
        summary: `Hold a seat for ${holdTtlS} s`,
        description: `At most ${holdMaxPerUser} live holds per user on one date. A hold past its heldUntil is free for the next user at once. With an Idempotency-Key, a retry replays the first answer and takes no second seat.`,
        security: security.gated,
        headers: IdempotencyHeaders,
        body: HoldBody,
        response: {
          201: HeldSchema,
          ...problems(400, 401, 403, 404, 409, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const { scheduleId, seatNo } = request.body
      const r = await reservations.hold(credentialsOf(request), scheduleId, seatNo, request.headers['idempotency-key'])
      return reply.status(201).send({
        reservationId: r.reservationId,
        scheduleId: r.scheduleId,
        seatNo: r.seatNo,
        price: r.price,
        status: 'HELD' as const,
        heldUntil: r.heldUntil.toISOString(),
      })
    },
  )

  const user = { onRequest: userHook(accessTokens) }

  app.delete(
    '/v1/reservations/:reservationId',
    {
      ...user,
      schema: {
        tags: ['reservations'],
        summary: 'Release your own hold',
        security: security.user,
        params: Type.Object({ reservationId: Id }),
        response: { 204: Type.Null(), ...problems(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      await reservations.release(request.userId, request.params.reservationId)
      return reply.status(204).send(null)
    },
  )

  app.get(
    '/v1/me/reservations',
    {
      ...user,
      schema: {
        tags: ['reservations'],
        summary: 'Your reservations, newest first',
        security: security.user,
        response: { 200: Type.Object({ items: Type.Array(ReservationSchema) }), ...problems(401) },
      },
    },
    async (request) => ({ items: (await reservations.listMine(request.userId)).map(reservationView) }),
  )
}
