import { type TSchema, Type } from 'typebox'

/**
 * The events stagedoor publishes, each with the schema of its `data`: the resource as the API
 * shows it, with the user it belongs to where the fan's own view leaves that out. This is the
 * contract receivers code against; /openapi.json publishes it under `webhooks`.
 */

const Instant = Type.String({ format: 'date-time', description: 'RFC 3339, UTC, milliseconds' })
const NullableInstant = Type.Union([Instant, Type.Null()])

const Concert = Type.Object({
  concertId: Type.String(),
  title: Type.String(),
  performer: Type.String(),
  venue: Type.String(),
  queueOpensAt: NullableInstant,
  presaleOpensAt: Type.Union([Instant, Type.Null()], {
    description: 'admission starts here, and joining needs a presale code until saleOpensAt; null: no presale',
  }),
  saleOpensAt: NullableInstant,
  joinChallenge: Type.Union([Type.Literal('none'), Type.Literal('pow')]),
  maxTicketsPerUser: Type.Union([Type.Integer(), Type.Null()], { description: "null: the deployment's default (TICKETS_PER_USER)" }),
  refundPolicy: Type.Union([Type.Object({ refundableUntilHours: Type.Integer(), feePercent: Type.Number() }), Type.Null()], {
    description: 'null: no fan refunds',
  }),
})

const Schedule = Type.Object({
  scheduleId: Type.String(),
  concertId: Type.String(),
  startsAt: Instant,
  totalSeats: Type.Integer(),
})

const ScheduleCancelled = Type.Object({ scheduleId: Type.String(), concertId: Type.String(), startsAt: Instant })

const QueueSettings = Type.Object({
  concertId: Type.String(),
  strategy: Type.Union([Type.Literal('rate'), Type.Literal('cap'), Type.Literal('hybrid')]),
  admitPerTick: Type.Integer(),
  tickMs: Type.Integer(),
  maxActive: Type.Integer(),
  paused: Type.Boolean(),
  activeIdleS: Type.Integer(),
  activeMaxS: Type.Integer(),
  waitingIdleS: Type.Integer(),
  adaptive: Type.Object(
    {
      enabled: Type.Boolean(),
      minAdmitPerTick: Type.Integer(),
      maxAdmitPerTick: Type.Integer(),
      targetLatencyMs: Type.Integer({ description: 'the p90 latency of holds and payments adaptive admission steers to' }),
    },
    { description: 'adaptive admission: while enabled, admitPerTick is set between the two bounds by the booking health' },
  ),
})

const reservation = (status: string) =>
  Type.Object({
    reservationId: Type.String(),
    userId: Type.String(),
    concertId: Type.String(),
    scheduleId: Type.String(),
    seatNo: Type.Integer(),
    price: Type.Integer({ description: 'won' }),
    status: Type.Literal(status),
    heldUntil: Instant,
    createdAt: Instant,
    startsAt: Type.String({ format: 'date-time', description: 'RFC 3339, UTC, milliseconds: when the date starts' }),
  })

const Payment = Type.Object({
  paymentId: Type.String(),
  reservationId: Type.String(),
  userId: Type.String(),
  amount: Type.Integer({ description: 'won' }),
  balance: Type.Integer({ description: 'the balance after the payment' }),
  status: Type.Literal('PAID'),
})

const Refund = Type.Object({
  refundId: Type.String(),
  reservationId: Type.String(),
  userId: Type.String(),
  amount: Type.Integer({ description: 'won back to the balance' }),
  fee: Type.Integer(),
  balance: Type.Integer(),
  status: Type.Literal('REFUNDED'),
})

const Charge = Type.Object({
  chargeId: Type.String(),
  userId: Type.String(),
  amount: Type.Integer({ description: 'won' }),
  balance: Type.Integer({ description: 'the balance after the charge' }),
})

/** Every event type with its data schema and what it means. */
const eventCatalogue = {
  'concert.created': { data: Concert, summary: 'An operator created a concert' },
  'concert.updated': { data: Concert, summary: 'An operator changed a concert; data is the concert after the change' },
  'schedule.created': { data: Schedule, summary: 'A date was added to a concert, with its seats' },
  'schedule.cancelled': { data: ScheduleCancelled, summary: 'A date was cancelled' },
  'queue.settings_changed': {
    data: QueueSettings,
    summary: "An operator changed a concert's queue settings; data is the settings in force",
  },
  'reservation.held': { data: reservation('HELD'), summary: 'A fan took a hold on a seat' },
  'reservation.released': { data: reservation('RELEASED'), summary: 'A fan released a hold' },
  'reservation.expired': {
    data: reservation('EXPIRED'),
    summary: 'A hold lapsed, found by the expiry sweep or by a later hold of the same seat',
  },
  'payment.succeeded': { data: Payment, summary: 'A hold was paid from the balance: the seat is sold' },
  'payment.refunded': { data: Refund, summary: 'A paid seat was refunded to the balance' },
  'balance.charged': { data: Charge, summary: "Money was added to a fan's balance" },
} as const satisfies Record<string, { data: TSchema; summary: string }>

export type EventType = keyof typeof eventCatalogue

export const eventTypes = Object.keys(eventCatalogue) as EventType[]

/** The envelope every event travels in, over webhooks, NATS and the feed. */
const envelopeSchema = (type: TSchema, data: TSchema) =>
  Type.Object({
    id: Type.String({ description: 'unique (`evt_…`): receivers de-duplicate by it' }),
    type,
    timestamp: Instant,
    sequence: Type.Integer({ minimum: 1, description: 'increasing per database, in commit order: consumers order by it' }),
    data,
  })

export const EnvelopeSchema = envelopeSchema(Type.String(), Type.Object({}, { additionalProperties: true }))

const signatureHeaders = [
  { name: 'webhook-id', description: 'the event id: the same on every attempt' },
  { name: 'webhook-timestamp', description: 'when this attempt was signed, in seconds since 1970' },
  { name: 'webhook-signature', description: '`v1,` and the HMAC-SHA256 of `id.timestamp.body` with the secret, per Standard Webhooks' },
].map((h) => ({ in: 'header', required: true, schema: { type: 'string' }, ...h }))

/**
 * The OpenAPI 3.1 `webhooks` section: what stagedoor POSTs to an endpoint, one entry per event
 * type, its envelope with that type's data.
 */
export function openApiWebhooks(): Record<string, unknown> {
  return Object.fromEntries(
    eventTypes.map((type) => {
      const { data, summary } = eventCatalogue[type]
      return [
        type,
        {
          post: {
            summary,
            description:
              'Signed per Standard Webhooks with the endpoint secret. A 2xx answer within 10 s delivers it; anything else is retried with backoff. Receivers de-duplicate by `id`.',
            parameters: signatureHeaders,
            requestBody: {
              required: true,
              content: { 'application/json': { schema: envelopeSchema(Type.Literal(type), data) } },
            },
            responses: { '2XX': { description: 'Delivered' } },
          },
        },
      ]
    }),
  )
}
