import { Type } from 'typebox'
import { adminHook } from '../platform/http/admin.js'
import { DateTime, Id, Name, NullableDateTime, problems, security } from '../platform/http/schemas.js'
import type { App } from '../platform/http/types.js'
import type { Concert } from './repository.js'
import { type CatalogService, MAX_SEATS_PER_SCHEDULE } from './service.js'

const JoinChallengeSchema = Type.Union([Type.Literal('none'), Type.Literal('pow')], {
  description: "'pow': joining the queue needs a solved proof-of-work challenge",
})
const MaxTickets = Type.Integer({ minimum: 1, maximum: 1000, description: 'live holds plus paid seats one fan may have, all dates' })

const ConcertSchema = Type.Object({
  concertId: Type.String(),
  title: Type.String(),
  performer: Type.String(),
  venue: Type.String(),
  queueOpensAt: NullableDateTime,
  saleOpensAt: NullableDateTime,
  joinChallenge: JoinChallengeSchema,
  maxTicketsPerUser: Type.Integer(),
})
const ListedConcertSchema = Type.Object({
  ...ConcertSchema.properties,
  soldOut: Type.Boolean({ description: 'every seat of every date is sold' }),
})

const ConcertFields = {
  title: Name,
  performer: Name,
  venue: Name,
  queueOpensAt: Type.Optional(DateTime),
  saleOpensAt: Type.Optional(DateTime),
  joinChallenge: Type.Optional(JoinChallengeSchema),
  maxTicketsPerUser: Type.Optional(MaxTickets),
}

const SectionSchema = Type.Object(
  {
    name: Name,
    rows: Type.Integer({ minimum: 1, maximum: 1000 }),
    seatsPerRow: Type.Integer({ minimum: 1, maximum: 1000 }),
    price: Type.Integer({ minimum: 0, maximum: 100_000_000, description: 'won' }),
  },
  { additionalProperties: false },
)

const concertView = (c: Concert, defaultMaxTickets: number) => ({
  concertId: c.concertId,
  title: c.title,
  performer: c.performer,
  venue: c.venue,
  queueOpensAt: c.queueOpensAt?.toISOString() ?? null,
  saleOpensAt: c.saleOpensAt?.toISOString() ?? null,
  joinChallenge: c.joinChallenge,
  maxTicketsPerUser: c.maxTicketsPerUser ?? defaultMaxTickets,
})

const optionalDate = (value: string | undefined) => (value === undefined ? undefined : new Date(value))

export function catalogRoutes(
  app: App,
  { catalog, adminKey, ticketsPerUser }: { catalog: CatalogService; adminKey: string; ticketsPerUser: number },
) {
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
          'Without opening times the queue is open at once. Given only one of queueOpensAt and saleOpensAt, the other takes the same value (no pre-queue).',
        security: security.admin,
        body: Type.Object(ConcertFields, { additionalProperties: false }),
        response: { 201: Type.Object({ concertId: Type.String() }), ...problems(400, 401) },
      },
    },
    async (request, reply) => {
      const { queueOpensAt, saleOpensAt, ...rest } = request.body
      const concert = await catalog.createConcert({
        ...rest,
        queueOpensAt: optionalDate(queueOpensAt),
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
        summary: 'Change a concert: its names, opening times, join challenge or ticket cap',
        security: security.admin,
        params: Type.Object({ concertId: Id }),
        body: Type.Partial(Type.Object(ConcertFields), { additionalProperties: false, minProperties: 1 }),
        response: { 200: ConcertSchema, ...problems(400, 401, 404) },
      },
    },
    async (request) => {
      const { queueOpensAt, saleOpensAt, ...rest } = request.body
      const concert = await catalog.updateConcert(request.params.concertId, {
        ...rest,
        queueOpensAt: optionalDate(queueOpensAt),
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
        body: Type.Object(
          { startsAt: DateTime, sections: Type.Array(SectionSchema, { minItems: 1, maxItems: 100 }) },
          { additionalProperties: false },
        ),
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
