import { Type } from 'typebox'
import { adminHook } from '../platform/http/admin.js'
import { Id, problems, security } from '../platform/http/schemas.js'
import type { Routes } from '../platform/http/types.js'
import type { Concert } from './repository.js'
import { ConcertFields, ConcertSchema, ListedConcertSchema, ScheduleBody } from './schemas.js'
import { type CatalogService, concertData, MAX_SEATS_PER_SCHEDULE } from './service.js'

const concertView = (c: Concert, defaultMaxTickets: number) => ({
  ...concertData(c),
  maxTicketsPerUser: c.maxTicketsPerUser ?? defaultMaxTickets,
})

const optionalDate = (value: string | undefined) => (value === undefined ? undefined : new Date(value))
const optionalPresale = (value: string | null | undefined) => (value == null ? value : new Date(value))

export const catalogRoutes: Routes<{ catalog: CatalogService; adminKey: string; ticketsPerUser: number }> = (
  app,
  { catalog, adminKey, ticketsPerUser },
) => {
  app.get(
    '/v1/concerts',
    {
      schema: {
        tags: ['catalog'],
        summary: 'List concerts',
        response: { 200: Type.Object({ items: Type.Array(ListedConcertSchema) }) },
      },
    },
    async () => ({ items: (await catalog.listed()).map((c) => ({ ...concertView(c, ticketsPerUser), soldOut: c.soldOut })) }),
  )

  const admin = adminHook(adminKey)

  app.post(
    '/v1/admin/concerts',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'Create a concert',
        description:
          'Without opening times the queue is open at once. Given only one of queueOpensAt and saleOpensAt, the other takes the same value (no pre-queue). A presale (presaleOpensAt) needs saleOpensAt; without queueOpensAt the line opens with the presale.',
        security: security.admin,
        body: Type.Object(ConcertFields, { additionalProperties: false }),
        response: { 201: Type.Object({ concertId: Type.String() }), ...problems(400, 401) },
      },
    },
    async (request, reply) => {
      const { queueOpensAt, presaleOpensAt, saleOpensAt, ...rest } = request.body
      const concert = await catalog.createConcert({
        ...rest,
        queueOpensAt: optionalDate(queueOpensAt),
        presaleOpensAt: optionalPresale(presaleOpensAt),
        saleOpensAt: optionalDate(saleOpensAt),
      })
      return reply.status(201).send({ concertId: concert.concertId })
    },
  )

  app.patch(
    '/v1/admin/concerts/:concertId',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'Change a concert: its names, opening times and presale, join challenge or ticket cap',
        security: security.admin,
        params: Type.Object({ concertId: Id }),
        body: Type.Partial(Type.Object(ConcertFields), { additionalProperties: false, minProperties: 1 }),
        response: { 200: ConcertSchema, ...problems(400, 401, 404) },
      },
    },
    async (request) => {
      const { queueOpensAt, presaleOpensAt, saleOpensAt, ...rest } = request.body
      const concert = await catalog.updateConcert(request.params.concertId, {
        ...rest,
        queueOpensAt: optionalDate(queueOpensAt),
        presaleOpensAt: optionalPresale(presaleOpensAt),
        saleOpensAt: optionalDate(saleOpensAt),
      })
      return concertView(concert, ticketsPerUser)
    },
  )

  app.post(
    '/v1/admin/concerts/:concertId/schedules',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'Add a date with its seat map',
        description: `Seats are numbered from 1 through the sections in order, row by row; at most ${MAX_SEATS_PER_SCHEDULE} seats.`,
        security: security.admin,
        params: Type.Object({ concertId: Id }),
        body: ScheduleBody,
        response: {
          201: Type.Object({ scheduleId: Type.String(), totalSeats: Type.Integer() }),
          ...problems(400, 401, 404),
        },
      },
    },
    async (request, reply) => {
      const created = await catalog.createSchedule(request.params.concertId, {
        startsAt: new Date(request.body.startsAt),
        sections: request.body.sections,
      })
      return reply.status(201).send(created)
    },
  )
}
