import { Type } from 'typebox'
import { DateTime, Id, Name } from '../platform/http/schemas.js'
import { EnvelopeSchema, eventTypes } from './catalogue.js'
import { MAX_URL_LENGTH } from './targets.js'

const Subscribable = Type.Enum([...eventTypes, '*' as const], { description: 'an event type, or `*` for every type' })

export const FeedQuery = Type.Object(
  {
    after: Type.Integer({ minimum: 0, default: 0 }),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
)

export const FeedSchema = Type.Object({
  items: Type.Array(EnvelopeSchema),
  nextAfter: Type.Integer({ description: 'the `after` for the next read: the last sequence here, or the one given' }),
})

const WebhookFields = {
  webhookId: Type.String(),
  url: Type.String(),
  events: Type.Array(Subscribable),
  description: Type.Union([Type.String(), Type.Null()]),
  createdAt: DateTime,
}
export const WebhookSchema = Type.Object(WebhookFields)
export const CreatedWebhookSchema = Type.Object({
  ...WebhookFields,
  secret: Type.String({ description: '`whsec_…`, shown only here' }),
})

export const WebhookBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: MAX_URL_LENGTH }),
    events: Type.Array(Subscribable, { minItems: 1, maxItems: 50, uniqueItems: true }),
    description: Type.Optional(Name),
  },
  { additionalProperties: false },
)

export const DeliverySchema = Type.Object({
  eventId: Type.String(),
  type: Type.String(),
  sequence: Type.Integer(),
  attempts: Type.Integer(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  lastResponseStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastResponseBody: Type.Union([Type.String(), Type.Null()], { description: 'at most 1 KB of the last answer' }),
  lastError: Type.Union([Type.String(), Type.Null()], {
    description: 'why the last attempt got no answer (refused target, timeout, connection)',
  }),
  lastAttemptAt: Type.Union([DateTime, Type.Null()]),
  nextAttemptAt: Type.Union([DateTime, Type.Null()], { description: 'null once delivered or failed' }),
})

export const DeliveriesQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) },
  { additionalProperties: false },
)

export const WebhookParams = Type.Object({ webhookId: Id })
export const DeliveryParams = Type.Object({ webhookId: Id, eventId: Id })
