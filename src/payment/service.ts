import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import type { Clock } from '../shared/clock.js'
import { AppError, conflict, notFound } from '../shared/errors.js'
import { newId } from '../shared/ids.js'
import type { Claim } from '../idempotency/service.js'
import type { Cache } from '../cache/cache.js'
import { seatKeys } from '../reservation/service.js'

export interface Payment {
  paymentId: string
  reservationId: string
  amount: number
  balance: number
  status: 'PAID'
}

const refusals: Record<string, string> = {
  ALREADY_PAID: 'this reservation is already paid',
  HOLD_RELEASED: 'this hold was released',
  HOLD_EXPIRED: 'the hold has expired; hold the seat again',
}

/**
 * Payment is one transaction (the database function pay_reservation, one round trip): the hold
 * is the user's and live, the balance covers the price, the balance goes down, the seat is sold,
 * the reservation confirmed, a payment and a ledger entry written — all of it or none.
 */
export class PaymentService {
  constructor(
    private readonly clock: Clock,
    private readonly cache: Cache,
  ) {}

  /**
   * `concertId`, when given, is the only concert whose reservations may be paid (else 403).
   * `answerOn`, a claimed Idempotency-Key, receives the success answer in the same statement.
   */
  async pay(userId: string, reservationId: string, db: Db, concertId?: string, answerOn?: Claim): Promise<Payment> {
    const now = this.clock.now()
    const paymentId = newId('pay', now)
    const call = sql`pay_reservation(${paymentId}, ${userId}, ${reservationId}, ${new Date(now)}, ${concertId ?? null})`
    type Outcome = { outcome: string; price: number | null; balance: number | null; schedule: string | null; concert: string | null }
    const { rows } = await (answerOn
      ? sql<Outcome>`
          with p as (select * from ${call}),
          answered as (
            update idempotency_keys k set response_status = 201,
              response_body = jsonb_build_object('paymentId', ${paymentId}::text, 'reservationId', ${reservationId}::text,
                                                 'amount', p.price, 'balance', p.balance, 'status', 'PAID')
            from p
            where p.outcome = 'PAID' and k.user_id = ${answerOn.userId} and k.route = ${answerOn.route} and k.key = ${answerOn.key}
          )
          select * from p`
      : sql<Outcome>`select * from ${call}`
    ).execute(db)
    const { outcome, price, balance, schedule, concert } = rows[0]!
    switch (outcome) {
      case 'PAID':
        await this.cache.invalidate(...seatKeys(schedule!, concert!))
        return { paymentId, reservationId, amount: price!, balance: balance!, status: 'PAID' }
      case 'NOT_FOUND':
        throw notFound('reservation')
      case 'WRONG_CONCERT':
        throw new AppError(403, 'QUEUE_TOKEN_WRONG_CONCERT', 'the queue token is for another concert')
      case 'INSUFFICIENT_BALANCE':
        throw conflict('INSUFFICIENT_BALANCE', `the balance ${balance} does not cover the price ${price}`, { balance, price })
      default:
        throw conflict(outcome, refusals[outcome] ?? outcome)
    }
  }
}
