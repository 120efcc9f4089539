import { type Kysely, sql } from 'kysely'
import type { KeyArgs } from '../idempotency/service.js'
import type { Tx } from '../platform/db/database.js'
import type { Admitted } from '../queue/gate.js'

interface PaymentsTable {
  id: string
  user_id: string
  reservation_id: string
  amount: number
  created_at: Date
}

/** At most one per payment (its primary key); written only by sql/refund_payment.sql. */
interface RefundsTable {
  payment_id: string
  id: string
  reservation_id: string
  user_id: string
  amount: number
  fee: number
  reason: 'FAN' | 'CANCELLED'
  schedule_id: string
  created_at: Date
}

/** The dates being cancelled whose refunds still run; a process takes one for a lease. */
interface ScheduleCancellationsTable {
  schedule_id: string
  concert_id: string
  requested_at: Date
  lease_until: Date | null
}

export interface PaymentTables {
  payments: PaymentsTable
  refunds: RefundsTable
  schedule_cancellations: ScheduleCancellationsTable
}

export type RefundOutcome = 'REFUNDED' | 'NOT_FOUND' | 'NOT_PAID' | 'ALREADY_REFUNDED'

export interface RefundResult {
  outcome: RefundOutcome
  refund_id: string | null
  amount: number | null
  fee: number | null
  balance: number | null
  schedule_id: string | null
  concert_id: string | null
}

/** A date's cancellation as a process takes it for a lease. */
export interface ClaimedCancellation {
  scheduleId: string
  concertId: string
  requestedAt: Date
}

export type PayOutcome =
  | 'PAID'
  | 'NOT_FOUND'
  | 'WRONG_CONCERT'
  | 'ALREADY_PAID'
  | 'HOLD_RELEASED'
  | 'HOLD_EXPIRED'
  | 'SCHEDULE_CLOSED'
  | 'SCHEDULE_CANCELLED'
  | 'INSUFFICIENT_BALANCE'

export interface PayResult {
  outcome: PayOutcome
  price: number | null
  balance: number | null
  schedule_id: string | null
  concert_id: string | null
  /** The Idempotency-Key was taken (answered, still running, or used with another body): nothing was done. */
  key_taken: boolean
}

/** The payment component's tables: payments and refunds, written only by sql/, and the cancellations in progress. */
export class PaymentRepository {
  constructor(readonly db: Kysely<PaymentTables>) {}

  /**
   * One round trip and one commit, all or nothing, its Idempotency-Key claimed and answered in it:
   * see sql/pay_reservation.sql. Gated: the payer, the concert whose reservation may be paid and the
   * queue token to end all come from the admission.
   */
  async pay(admitted: Admitted, p: { paymentId: string; reservationId: string; now: Date; key: KeyArgs | undefined }): Promise<PayResult> {
    const { userId, concertId, claims } = admitted
    const { key } = p
    const { rows } = await sql<PayResult>`
      select * from pay_reservation(${p.paymentId}, ${userId}, ${p.reservationId}, ${p.now}, ${concertId},
        ${claims.tokenId}, ${claims.concertId}, ${key?.key ?? null}, ${key?.route ?? null}, ${key?.body ?? null}::jsonb,
        ${key?.leaseBefore ?? null})`.execute(this.db)
    return rows[0]!
  }

  /** One round trip, all or nothing, at most once per payment: see sql/refund_payment.sql and refund_payments.sql. */
  async refund(
    r: { reservationId: string; userId: string; feeBasisPoints: number; reason: 'FAN' | 'CANCELLED'; now: Date },
    db: Tx = this.db,
  ): Promise<RefundResult> {
    const { rows } = await sql<RefundResult>`
      select * from refund_payment(${r.reservationId}, ${r.userId}, ${r.feeBasisPoints}::integer, ${r.reason}, ${r.now})`.execute(db)
    return rows[0]!
  }

  /** Puts a date's cancellation in the list the processes work through, in the caller's transaction. */
  async enqueueCancellation(c: { scheduleId: string; concertId: string; now: Date }, db: Tx): Promise<void> {
    await (db as Kysely<PaymentTables>)
      .insertInto('schedule_cancellations')
      .values({ schedule_id: c.scheduleId, concert_id: c.concertId, requested_at: c.now, lease_until: null })
      .onConflict((oc) => oc.doNothing())
      .execute()
  }

  /** Takes the oldest cancellation no process holds (or whose holder's lease ran out) until `leaseUntil`. */
  async claimCancellation(now: Date, leaseUntil: Date): Promise<ClaimedCancellation | undefined> {
    const { rows } = await sql<{ schedule_id: string; concert_id: string; requested_at: Date }>`
      update schedule_cancellations set lease_until = ${leaseUntil}
      where schedule_id = (
        select schedule_id from schedule_cancellations
        where lease_until is null or lease_until <= ${now}
        order by requested_at limit 1 for update skip locked)
      returning schedule_id, concert_id, requested_at`.execute(this.db)
    const row = rows[0]
    return row && { scheduleId: row.schedule_id, concertId: row.concert_id, requestedAt: row.requested_at }
  }

  async renewLease(scheduleId: string, leaseUntil: Date): Promise<void> {
    await this.db.updateTable('schedule_cancellations').set({ lease_until: leaseUntil }).where('schedule_id', '=', scheduleId).execute()
  }

  async releaseLease(scheduleId: string): Promise<void> {
    await this.db.updateTable('schedule_cancellations').set({ lease_until: null }).where('schedule_id', '=', scheduleId).execute()
  }

  /** One batch of a cancellation (sql/cancellation_batch.sql): how many reservations it ended, 0 once none is left. */
  async cancellationBatch(scheduleId: string, limit: number, now: Date): Promise<number> {
    const { rows } = await sql<{ n: number }>`select cancellation_batch(${scheduleId}, ${limit}::integer, ${now}) as n`.execute(this.db)
    return rows[0]!.n
  }

  async finishCancellation(scheduleId: string): Promise<void> {
    await this.db.deleteFrom('schedule_cancellations').where('schedule_id', '=', scheduleId).execute()
  }

  /** The refunds a date's cancellation has made so far. */
  async cancellationRefunds(scheduleId: string): Promise<number> {
    const row = await this.db
      .selectFrom('refunds')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('schedule_id', '=', scheduleId)
      .where('reason', '=', 'CANCELLED')
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }
}
