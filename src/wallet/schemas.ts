import { Type } from 'typebox'
import { DateTime } from '../platform/http/schemas.js'
import { MAX_CHARGE } from './service.js'

export const ChargeSchema = Type.Object({ chargeId: Type.String(), amount: Type.Integer(), balance: Type.Integer() })
export const ChargeBody = Type.Object(
  { amount: Type.Integer({ minimum: 1, maximum: MAX_CHARGE, description: 'won' }) },
  { additionalProperties: false },
)

export const BalanceSchema = Type.Object({
  userId: Type.String(),
  balance: Type.Integer(),
  charges: Type.Union([Type.Literal('open'), Type.Literal('off')], {
    description:
      "Whether you may add money yourself (POST /v1/me/balance/charges): `off` where the operator's payment integration credits balances (CHARGES=off)",
  }),
})

export const HistoryQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
)

export const HistorySchema = Type.Object({
  items: Type.Array(
    Type.Object({
      entryId: Type.String(),
      kind: Type.Union([Type.Literal('CHARGE'), Type.Literal('PAYMENT'), Type.Literal('REFUND')], {
        description: 'REFUND: a paid seat refunded (by the fan, or by a cancelled date)',
      }),
      amount: Type.Integer({ description: '+ charge, − payment' }),
      balanceAfter: Type.Integer(),
      createdAt: DateTime,
    }),
  ),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
})
