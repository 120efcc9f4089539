import { Type } from 'typebox'
import { DateTime } from '../platform/http/schemas.js'
import { MAX_CODE_INPUT } from '../presale/codes.js'
import { MAX_PAYLOAD_LENGTH } from './challenges.js'
import { QueueSettingsSchema } from './settings.js'

export const QueueStatusSchema = Type.Object({
  token: Type.String({ description: 'Send as the Queue-Token header' }),
  concertId: Type.String(),
  status: Type.Union([Type.Literal('WAITING'), Type.Literal('ACTIVE'), Type.Literal('EXPIRED'), Type.Literal('SOLD_OUT')], {
    description: 'SOLD_OUT: every seat is sold; the fan keeps the place and is WAITING again if seats come back',
  }),
  position: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description: '1 = next in line; 0 when ACTIVE; null in the pre-queue and when EXPIRED',
  }),
  etaSeconds: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  pollAfterMs: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description: 'when to ask again; spread by ±20% so a crowd does not ask in step',
  }),
  pollBeforeMs: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description:
      'while WAITING or SOLD_OUT: the longest the fan may go without asking and keep the place (a page out of sight may wait this long); null otherwise',
  }),
  activeUntil: Type.Union([DateTime, Type.Null()]),
  availableSeats: Type.Integer({ minimum: 0, description: 'seats of the concert neither held nor sold (at most 1 s old)' }),
})

/** An ALTCHA challenge (version 2 format): solve it, then join with the payload. */
export const ChallengeSchema = Type.Object(
  {
    parameters: Type.Object({}, { additionalProperties: true }),
    signature: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
)

/** A join's body: the payload of a solved challenge, where the concert asks for one; a presale code, during a presale. */
export const JoinBody = Type.Object(
  {
    altcha: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_PAYLOAD_LENGTH, description: "ALTCHA's base64 payload" })),
    code: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_CODE_INPUT,
        description:
          'A presale code, needed for a new entry until saleOpensAt on a concert with presaleOpensAt; case, spaces and dashes do not matter',
      }),
    ),
  },
  { additionalProperties: false, description: 'Optional: no body, or `null`, is an empty one' },
)

export const QueueReportSchema = Type.Object({
  waiting: Type.Integer(),
  active: Type.Integer(),
  admittedLastMinute: Type.Integer(),
  p50WaitSeconds: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Median wait from joining to admission of those admitted in the last minute',
  }),
  config: QueueSettingsSchema,
  adaptive: Type.Object(
    {
      enabled: Type.Boolean(),
      admitPerTick: Type.Integer({ description: 'the rate now: set by adaptive admission while enabled' }),
      latencyP90Ms: Type.Union([Type.Number(), Type.Null()], {
        description: "p90 latency of the concert's holds and payments in the last decided window, all processes",
      }),
      errorRate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], {
        description: 'share of them that failed with a 5xx in that window',
      }),
      reason: Type.Union(
        [
          Type.Literal('errors'),
          Type.Literal('over-target'),
          Type.Literal('settling'),
          Type.Literal('rising'),
          Type.Literal('near-target'),
          Type.Literal('headroom'),
          Type.Literal('probing'),
          Type.Literal('line-empty'),
          Type.Literal('slots-unused'),
          Type.Literal('at-max'),
          Type.Literal('at-min'),
          Type.Null(),
        ],
        { description: 'why the last decision set the rate it did' },
      ),
      decision: Type.Union([Type.String(), Type.Null()], { description: 'the last decision in words' }),
      decidedAt: Type.Union([DateTime, Type.Null()]),
    },
    { description: 'Adaptive admission (docs/queue.md#adaptive-admission); the decision fields are null before any decision' },
  ),
})
