import { Type } from 'typebox'
import { Id } from '../platform/http/schemas.js'

export const PaymentSchema = Type.Object({
  paymentId: Type.String(),
  reservationId: Type.String(),
  amount: Type.Integer(),
  balance: Type.Integer(),
  status: Type.Literal('PAID'),
})

export const PaymentBody = Type.Object({ reservationId: Id }, { additionalProperties: false })

export const RefundSchema = Type.Object({
  refundId: Type.String(),
  reservationId: Type.String(),
  amount: Type.Integer({ description: 'won back to the balance: the price less the fee' }),
  fee: Type.Integer({ description: "won kept under the concert's refund policy" }),
  balance: Type.Integer({ description: 'the balance after the refund' }),
  status: Type.Literal('REFUNDED'),
})

export const CancellationSchema = Type.Object({
  scheduleId: Type.String(),
  status: Type.Union([Type.Literal('CANCELLING'), Type.Literal('CANCELLED')], {
    description: 'CANCELLING while paid seats are being refunded; CANCELLED once every one is',
  }),
  refunded: Type.Integer({ description: 'paid seats refunded in full by the cancellation so far' }),
  toRefund: Type.Integer({ description: 'paid seats the cancellation refunds in all' }),
})
