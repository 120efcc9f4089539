import type { CatalogService } from '../catalog/service.js'
import type { IdempotencyService } from '../idempotency/service.js'
import type { Clock } from '../platform/clock.js'
import { inTransaction } from '../platform/db/database.js'
import { AppError, notFound } from '../platform/errors.js'
import { type ReservationService, scheduleCancelled } from '../reservation/service.js'
import type { PaymentRepository, RefundOutcome } from './repository.js'

export interface Refund {
  refundId: string
  reservationId: string
  /** Won back to the balance: the price less the fee. */
  amount: number
  fee: number
  balance: number
  status: 'REFUNDED'
}

export interface RefundRequest {
  userId: string
  reservationId: string
  idempotencyKey: string | undefined
}

/** A date's cancellation as operators follow it. */
export interface CancellationProgress {
  scheduleId: string
  status: 'CANCELLING' | 'CANCELLED'
  /** Paid seats refunded by the cancellation so far. */
  refunded: number
  /** Paid seats the cancellation refunds in all: those refunded and those still paid. */
  toRefund: number
}

/** What refunds and cancellations are built from. */
export interface RefundParts {
  repository: PaymentRepository
  /** The concert's refund policy, the date's start and state; it closes a cancelled date. */
  catalog: CatalogService
  /** The fan's reservation; told of every seat a refund frees. */
  reservations: ReservationService
  idempotency: IdempotencyService
  clock: Clock
}

const ROUTE = 'refunds'
/** Reservations ended per cancellation batch, each batch one transaction. */
const CANCEL_BATCH = 500
/** How long a process may work on a cancellation before another may take it over; renewed by every batch. */
const CANCEL_LEASE_MS = 10_000
/** How long one run of the loop works on a cancellation before it lets the loop's other work go on. */
const CANCEL_RUN_MS = 5_000
/**
 * A cancellation is done once a batch finds nothing left and this long has passed since the date
 * closed: a hold or payment that read the date as open just before it closed has committed by
 * then (every statement is bounded by DB_TIMEOUT_MS), and its seat is released or refunded.
 */
export const CANCEL_SETTLE_MS = 5_000

const refusals: Record<Exclude<RefundOutcome, 'REFUNDED'>, () => AppError> = {
  NOT_FOUND: () => notFound('reservation'),
  NOT_PAID: () => new AppError('NOT_PAID', 'only a paid seat can be refunded; a held seat is released instead'),
  ALREADY_REFUNDED: () => new AppError('ALREADY_REFUNDED', 'this reservation is already refunded'),
}

const HOUR_MS = 3_600_000

/**
 * Money back after the sale: a fan refunds a paid seat under the concert's refund policy, and an
 * operator cancels a date, whose paid seats every process then refunds in full, batch by batch.
 * Each refund is one transaction (sql/refund_payment.sql) and happens at most once per payment,
 * whoever asks and however often; the seat it frees goes back on sale at once, and so to the fans
 * still in line.
 */
export class RefundService {
  private readonly repository: PaymentRepository
  private readonly catalog: CatalogService
  private readonly reservations: ReservationService
  private readonly idempotency: IdempotencyService
  private readonly clock: Clock

  constructor(parts: RefundParts) {
    this.repository = parts.repository
    this.catalog = parts.catalog
    this.reservations = parts.reservations
    this.idempotency = parts.idempotency
    this.clock = parts.clock
  }

  /** A fan refunds their own paid seat; with an Idempotency-Key a retry replays the first answer. */
  async refund({ userId, reservationId, idempotencyKey }: RefundRequest): Promise<Refund> {
    const body = { reservationId }
    // 1. A retry of a finished refund is answered as it was, before any check.
    const replayed = await this.idempotency.finished<Refund>(userId, ROUTE, idempotencyKey, body)
    if (replayed) return replayed

    // 2. The policy: the reservation's concert and date, read before the refund's transaction.
    //    Whether the seat is paid (and not refunded yet) is the transaction's to say, under its locks.
    const reservation = await this.reservations.find(userId, reservationId)
    if (!reservation) throw notFound('reservation')
    const [concert, date] = await Promise.all([
      this.catalog.concert(reservation.concertId),
      this.catalog.scheduleState(reservation.scheduleId),
    ])
    // A cancelled date is refunded in full by its cancellation, never with a fan's fee.
    if (date?.status !== 'ON_SALE') throw scheduleCancelled()
    const policy = concert?.refundPolicy
    if (!policy) throw new AppError('REFUND_NOT_ALLOWED', 'this concert takes no refunds')
    const closesAt = date.startsAt.getTime() - policy.refundableUntilHours * HOUR_MS
    if (this.clock.now() >= closesAt) {
      const until = new Date(closesAt).toISOString()
      throw new AppError('REFUND_NOT_ALLOWED', `refunds closed at ${until}, ${policy.refundableUntilHours} hours before the date`, {
        refundableUntil: until,
      })
    }

    // 3. The refund, once per payment (the database decides, whoever else asks) and per key.
    const feeBasisPoints = Math.round(policy.feePercent * 100)
    const refund = await this.idempotency.run(userId, ROUTE, idempotencyKey, body, async (trx) => {
      const now = new Date(this.clock.now())
      const result = await this.repository.refund({ reservationId, userId, feeBasisPoints, reason: 'FAN', now }, trx)
      if (result.outcome !== 'REFUNDED') throw refusals[result.outcome]()
      return {
        refundId: result.refund_id!,
        reservationId,
        amount: result.amount!,
        fee: result.fee!,
        balance: result.balance!,
        status: 'REFUNDED' as const,
      }
    })
    // 4. The seat is free: seat maps, the seats left, and so the line, see it at once.
    await this.reservations.seatsChanged(reservation.scheduleId, reservation.concertId)
    return refund
  }

  /**
   * Cancels a date: from the commit on it takes no hold or payment and leaves the fans' list of
   * dates; its paid seats are refunded in full and its holds released by the processes' loop
   * (`runCancellations`), in batches. Asking again changes nothing and answers the progress.
   */
  async cancelSchedule(scheduleId: string): Promise<CancellationProgress> {
    const date = await this.catalog.scheduleState(scheduleId)
    if (!date) throw notFound('schedule')
    if (date.status === 'ON_SALE') {
      const now = new Date(this.clock.now())
      await inTransaction(this.repository.db, async (trx) => {
        if (await this.catalog.closeSchedule(date, now, trx)) {
          await this.repository.enqueueCancellation({ scheduleId, concertId: date.concertId, now }, trx)
        }
      })
      await this.catalog.datesChanged(date.concertId)
    }
    return this.cancellation(scheduleId)
  }

  /** Where a date's cancellation stands; 404 when the date is not cancelled. */
  async cancellation(scheduleId: string): Promise<CancellationProgress> {
    const date = await this.catalog.scheduleState(scheduleId)
    if (!date) throw notFound('schedule')
    if (date.status === 'ON_SALE') throw notFound('cancellation: this date is on sale')
    const [refunded, stillPaid] = await Promise.all([
      this.repository.cancellationRefunds(scheduleId),
      this.reservations.paidCount(scheduleId),
    ])
    return { scheduleId, status: date.status, refunded, toRefund: refunded + stillPaid }
  }

  /**
   * The cancellations' loop, in every process: takes one cancellation no other process works on
   * (or whose process died: its lease runs out) and works through its batches for a while,
   * renewing the lease; once nothing is left, the date is CANCELLED. Returns the reservations ended.
   */
  async runCancellations(): Promise<number> {
    const started = this.clock.now()
    const claimed = await this.repository.claimCancellation(new Date(started), new Date(started + CANCEL_LEASE_MS))
    if (!claimed) return 0
    const { scheduleId, concertId, requestedAt } = claimed
    // On a failure the lease stays: another process (or this one) takes the work over once it runs out.
    let ended = 0
    for (;;) {
      const now = this.clock.now()
      const n = await this.repository.cancellationBatch(scheduleId, CANCEL_BATCH, new Date(now))
      ended += n
      if (n > 0) await this.reservations.seatsChanged(scheduleId, concertId)
      if (n === 0 && now - requestedAt.getTime() >= CANCEL_SETTLE_MS) {
        await this.catalog.markCancelled(scheduleId, new Date(now))
        await this.repository.finishCancellation(scheduleId)
        return ended
      }
      if (n === 0 || this.clock.now() - started >= CANCEL_RUN_MS) break
      await this.repository.renewLease(scheduleId, new Date(this.clock.now() + CANCEL_LEASE_MS))
    }
    await this.repository.releaseLease(scheduleId)
    return ended
  }
}
