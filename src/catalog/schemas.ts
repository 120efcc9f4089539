import { Type } from 'typebox'
import { DateTime, Name, NullableDateTime } from '../platform/http/schemas.js'

const JoinChallengeSchema = Type.Union([Type.Literal('none'), Type.Literal('pow')], {
  description: "'pow': joining the queue needs a solved proof-of-work challenge",
})
const PRESALE =
  'admission starts here, and until saleOpensAt joining needs a presale code; queueOpensAt ≤ presaleOpensAt < saleOpensAt; null: no presale'
const RefundPolicySchema = Type.Object(
  {
    refundableUntilHours: Type.Integer({
      minimum: 0,
      maximum: 8760,
      description: 'fans may refund until this many hours before the date starts (at most a year)',
    }),
    feePercent: Type.Number({
      minimum: 0,
      maximum: 100,
      description: 'kept from the price, in percent, counted to a hundredth of a percent; the amount back is rounded down to whole won',
    }),
  },
  { additionalProperties: false },
)
const NullableRefundPolicy = Type.Union([RefundPolicySchema, Type.Null()], {
  description: 'when fans may refund a paid seat, and the fee; null: no fan refunds (a cancelled date is refunded in full all the same)',
})
const MaxTickets = Type.Integer({ minimum: 1, maximum: 1000, description: 'live holds plus paid seats one fan may have, all dates' })

export const ConcertSchema = Type.Object({
  concertId: Type.String(),
  title: Type.String(),
  performer: Type.String(),
  venue: Type.String(),
  queueOpensAt: NullableDateTime,
  presaleOpensAt: Type.Union([DateTime, Type.Null()], { description: PRESALE }),
  saleOpensAt: NullableDateTime,
  joinChallenge: JoinChallengeSchema,
  maxTicketsPerUser: Type.Integer(),
  refundPolicy: NullableRefundPolicy,
})
export const ListedConcertSchema = Type.Object({
  ...ConcertSchema.properties,
  soldOut: Type.Boolean({ description: 'nothing is left to sell: every seat of every bookable date is sold, or no date is bookable' }),
})

export const ConcertFields = {
  title: Name,
  performer: Name,
  venue: Name,
  queueOpensAt: Type.Optional(DateTime),
  presaleOpensAt: Type.Optional(Type.Union([DateTime, Type.Null()], { description: `${PRESALE}; null ends it` })),
  saleOpensAt: Type.Optional(DateTime),
  joinChallenge: Type.Optional(JoinChallengeSchema),
  maxTicketsPerUser: Type.Optional(MaxTickets),
  refundPolicy: Type.Optional(NullableRefundPolicy),
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

export const ScheduleBody = Type.Object(
  { startsAt: DateTime, sections: Type.Array(SectionSchema, { minItems: 1, maxItems: 100 }) },
  { additionalProperties: false },
)
