import { type Kysely, sql } from 'kysely'
import type { Tx } from '../platform/db/database.js'
import type { QueueClaims } from '../queue/tokens.js'

interface PaymentsTable {
  id: string
  user_id: string
  reservation_id: string
  amount: number
  created_at: Date
}

export interface PaymentTables {
  payments: PaymentsTable
}

export type PayOutcome =
  | 'PAID'
  | 'NOT_FOUND'
  | 'WRONG_CONCERT'
  | 'ALREADY_PAID'
  | 'HOLD_RELEASED'
  | 'HOLD_EXPIRED'
  | 'SCHEDULE_CLOSED'
  | 'INSUFFICIENT_BALANCE'

export interface PayResult {
  outcome: PayOutcome
  price: number | null
  balance: number | null
  schedule_id: string | null
  concert_id: string | null
}

/** The payment component's table, written only by sql/pay_reservation.sql. */
export class PaymentRepository {
  constructor(private readonly db: Kysely<PaymentTables>) {}

  /** One round trip, all or nothing: see sql/pay_reservation.sql. */
  async pay(
    p: { paymentId: string; userId: string; reservationId: string; now: Date; concertId: string | null; queueToken: QueueClaims },
    db: Tx = this.db,
  ): Promise<PayResult> {
    const { rows } = await sql<PayResult>`
      select * from pay_reservation(${p.paymentId}, ${p.userId}, ${p.reservationId}, ${p.now}, ${p.concertId},
        ${p.queueToken.tokenId}, ${p.queueToken.concertId})`.execute(db)
    return rows[0]!
  }
}
