import { Type } from 'typebox'
import type { ScheduleLayout } from '../catalog/repository.js'
import { adminHook } from '../platform/http/admin.js'
import { perMinute } from '../platform/http/rate-limits.js'
import { DateTime, Id, IdempotencyHeaders, problems, security } from '../platform/http/schemas.js'
import type { App } from '../platform/http/types.js'
import { admissionOf, gatedHook } from '../queue/gate.js'
import type { QueueService } from '../queue/service.js'
import type { AccessTokens } from '../users/access-tokens.js'
import { userHook } from '../users/hooks.js'
import type { Reservation } from './repository.js'
import { type BookableDate, ReservationService, type SeatMap } from './service.js'

const SeatStatus = Type.Union([Type.Literal('AVAILABLE'), Type.Literal('HELD'), Type.Literal('SOLD')])
const ReservationStatus = Type.Union([Type.Literal('HELD'), Type.Literal('CONFIRMED'), Type.Literal('EXPIRED'), Type.Literal('RELEASED')])
const ReservationSchema = Type.Object({
  reservationId: Type.String(),
  concertId: Type.String(),
  scheduleId: Type.String(),
  seatNo: Type.Integer(),
  price: Type.Integer(),
  status: ReservationStatus,
  heldUntil: DateTime,
  createdAt: DateTime,
})

const DatesSchema = Type.Object({
  items: Type.Array(
    Type.Object({
      scheduleId: Type.String(),
      startsAt: DateTime,
      availableSeats: Type.Integer(),
      totalSeats: Type.Integer(),
    }),
  ),
})

const datesView = (dates: BookableDate[]) => ({ items: dates.map((d) => ({ ...d, startsAt: d.startsAt.toISOString() })) })

/** Above this many seats the seat map defaults to the compact form. */
const FULL_FORM_MAX_SEATS = 1000

const reservationView = (r: Reservation) => ({
  reservationId: r.reservationId,
  concertId: r.concertId,
  scheduleId: r.scheduleId,
  seatNo: r.seatNo,
  price: r.price,
  status: r.status,
  heldUntil: r.heldUntil.toISOString(),
  createdAt: r.createdAt.toISOString(),
})

/**
 * Seat maps as sent, kept for as long as the cached map they were made from (the held and sold
 * arrays are the cache entry's own): a crowd reading one map pays for one serialisation and one
 * UTF-8 encoding.
 */
const rendered = new WeakMap<number[], { layout: ScheduleLayout; full?: Buffer; compact?: Buffer }>()

function seatMapBody(map: SeatMap, format: 'full' | 'compact'): Buffer {
  const { layout } = map
  let bodies = rendered.get(map.held)
  if (bodies?.layout !== layout) {
    bodies = { layout }
    rendered.set(map.held, bodies)
  }
  bodies[format] ??= jsonBuffer(
    format === 'full'
      ? { scheduleId: layout.scheduleId, totalSeats: layout.totalSeats, seats: ReservationService.fullSeats(map) }
      : {
          scheduleId: layout.scheduleId,
          totalSeats: layout.totalSeats,
          sections: layout.sections.map(({ name, firstSeatNo, rows, seatsPerRow, price }) => ({
            name,
            firstSeatNo,
            rows,
            seatsPerRow,
            price,
          })),
          held: map.held,
          sold: map.sold,
        },
  )
  return bodies[format]
}

const jsonBuffer = (value: unknown) => Buffer.from(JSON.stringify(value))

export function reservationRoutes(
  app: App,
  {
    reservations,
    queue,
    accessTokens,
    holdTtlS,
    holdMaxPerUser,
    holdPerMin,
    adminKey,
  }: {
    reservations: ReservationService
    queue: QueueService
    accessTokens: AccessTokens
    holdTtlS: number
    holdMaxPerUser: number
    holdPerMin: number
    adminKey: string
  },
) {
  const gated = { onRequest: gatedHook(accessTokens, queue) }

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
        response: { 200: DatesSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => datesView(await reservations.dates(admissionOf(request), request.params.concertId)),
  )

  app.get(
    '/v1/admin/concerts/:concertId/schedules',
    {
      onRequest: adminHook(adminKey),
      schema: {
        tags: ['admin'],
        summary: 'Upcoming dates of a concert, with free seats',
        security: security.admin,
        params: Type.Object({ concertId: Id }),
        response: { 200: DatesSchema, ...problems(401, 404) },
      },
    },
    async (request) => datesView(await reservations.datesForOperators(request.params.concertId)),
  )

  app.get(
    '/v1/schedules/:scheduleId/seats',
    {
      ...gated,
      schema: {
        tags: ['reservations'],
        summary: 'The seat map of a date, with each seat available, held or sold',
        description: `\`full\` lists every seat; \`compact\` gives the sections and the held and sold seat numbers (every other seat is available). Default: full up to ${FULL_FORM_MAX_SEATS} seats, compact above.`,
        security: security.gated,
        params: Type.Object({ scheduleId: Id }),
        querystring: Type.Object(
          { format: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('compact')])) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Union([
            Type.Object({
              scheduleId: Type.String(),
              totalSeats: Type.Integer(),
              seats: Type.Array(
                Type.Object({
                  seatNo: Type.Integer(),
                  section: Type.String(),
                  row: Type.Integer(),
                  price: Type.Integer(),
                  status: SeatStatus,
                }),
              ),
            }),
            Type.Object({
              scheduleId: Type.String(),
              totalSeats: Type.Integer(),
              sections: Type.Array(
                Type.Object({
                  name: Type.String(),
                  firstSeatNo: Type.Integer(),
                  rows: Type.Integer(),
                  seatsPerRow: Type.Integer(),
                  price: Type.Integer(),
                }),
              ),
              held: Type.Array(Type.Integer()),
              sold: Type.Array(Type.Integer()),
            }),
          ]),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const map = await reservations.seatMap(admissionOf(request), request.params.scheduleId)
      const format = request.query.format ?? (map.layout.totalSeats <= FULL_FORM_MAX_SEATS ? 'full' : 'compact')
      // Already serialised in the response's shape (a Buffer body skips the schema serializer).
      return reply.type('application/json; charset=utf-8').send(seatMapBody(map, format) as never)
    },
  )

  app.post(
    '/v1/reservations',
    {
      ...gated,
      ...perMinute(holdPerMin, (request) => request.userId),
      schema: {
        tags: ['reservations'],
        summary: `Hold a seat for ${holdTtlS} s`,
        description: `At most ${holdMaxPerUser} live holds per user on one date. A hold past its heldUntil is free for the next user at once. With an Idempotency-Key, a retry replays the first answer and takes no second seat.`,
        security: security.gated,
        headers: IdempotencyHeaders,
        body: Type.Object({ scheduleId: Id, seatNo: Type.Integer({ minimum: 1, maximum: 100_000 }) }, { additionalProperties: false }),
        response: {
          201: Type.Object({
            reservationId: Type.String(),
            scheduleId: Type.String(),
            seatNo: Type.Integer(),
            price: Type.Integer(),
            status: Type.Literal('HELD'),
            heldUntil: DateTime,
          }),
          ...problems(400, 401, 403, 404, 409, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const { scheduleId, seatNo } = request.body
      const r = await reservations.hold(admissionOf(request), scheduleId, seatNo, request.headers['idempotency-key'])
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
        response: { 204: Type.Null(), ...problems(401, 404, 409) },
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
