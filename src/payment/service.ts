import { type IdempotencyService, KEY_TAKEN } from '../idempotency/service.js'
import type { Clock } from '../platform/clock.js'
import { AppError, notFound } from '../platform/errors.js'
import { newId } from '../platform/ids.js'
import type { Metrics } from '../platform/metrics.js'
import type { BookingHealth } from '../queue/booking-health.js'
import type { Admitted, QueueGate } from '../queue/gate.js'
import type { QueueService } from '../queue/service.js'
import { type ReservationService, scheduleCancelled } from '../reservation/service.js'
import type { PaymentRepository, PayOutcome, PayResult } from './repository.js'

export interface Payment {
  paymentId: string
  reservationId: string
  amount: number
  balance: number
  status: 'PAID'
}

export interface PayRequest {
  userId: string
  reservationId: string
  /** The Queue-Token header, checked after a replay (a finished payment is answered even once its token has ended). */
  queueToken: string | undefined
  idempotencyKey: string | undefined
}

/** What the payment use case is built from. */
export interface PaymentParts {
  repository: PaymentRepository
  /** The gate, passed after a replay; the queue, told when a token's payment ends it. */
  gate: QueueGate
  queue: QueueService
  reservations: ReservationService
  idempotency: IdempotencyService
  clock: Clock
  metrics: Metrics
  /** Told how each payment answers: adaptive admission steers by it. */
  health: BookingHealth
}

const ROUTE = 'payments'

const refusals: Record<Exclude<PayOutcome, 'PAID'>, (r: PayResult) => AppError> = {
  NOT_FOUND: () => notFound('reservation'),
  WRONG_CONCERT: () => new AppError('QUEUE_TOKEN_WRONG_CONCERT', 'the queue token is for another concert'),
  ALREADY_PAID: () => new AppError('ALREADY_PAID', 'this reservation is already paid'),
  HOLD_RELEASED: () => new AppError('HOLD_RELEASED', 'this hold was released'),
  HOLD_EXPIRED: () => new AppError('HOLD_EXPIRED', 'the hold has expired; hold the seat again'),
  SCHEDULE_CLOSED: () => new AppError('SCHEDULE_CLOSED', 'this date has already started'),
  SCHEDULE_CANCELLED: scheduleCancelled,
  INSUFFICIENT_BALANCE: (r) =>
    new AppError('INSUFFICIENT_BALANCE', `the balance ${r.balance} does not cover the price ${r.price}`, {
      balance: r.balance,
      price: r.price,
    }),
}

/**
 * Paying for a held seat from the balance: the whole flow, top to bottom. The payment itself is
 * one transaction in the database (hold confirmed, balance debited, payment and ledger written:
 * all or none); the queue token ends after it, which frees the fan's slot.
 */
export class PaymentService {
  private readonly repository: PaymentRepository
  private readonly gate: QueueGate
  private readonly queue: QueueService
  private readonly reservations: ReservationService
  private readonly idempotency: IdempotencyService
  private readonly clock: Clock
  private readonly metrics: Metrics
  private readonly health: BookingHealth

  constructor(parts: PaymentParts) {
    this.repository = parts.repository
    this.gate = parts.gate
    this.queue = parts.queue
    this.reservations = parts.reservations
    this.idempotency = parts.idempotency
    this.clock = parts.clock
    this.metrics = parts.metrics
    this.health = parts.health
  }

  async pay({ userId, reservationId, queueToken, idempotencyKey }: PayRequest): Promise<Payment> {
    const request = { userId, reservationId, idempotencyKey }
    // 1. The common case, an ACTIVE queue token of this user (one store read): the payment's own
    //    statement checks its key, so a retry of a finished payment is replayed there.
    const active = await this.gate.activeToPay(userId, queueToken)
    if (active) return this.health.observe(active.concertId, () => this.payAdmitted(active, request), true)

    // 2. Any other token: a retry of a finished payment is answered before the gate, as its token
    //    has ended by now.
    const replayed = await this.idempotency.finished<Payment>(userId, ROUTE, idempotencyKey, { reservationId })
    if (replayed) return replayed

    // 3. The gate, with its one exception for money: a token that ended by its payment or its
    //    hard limit may still pay the live holds taken under it. From here on the payment counts
    //    in the booking health of its queue token's concert.
    const credentials = this.gate.credentials(userId, queueToken)
    return this.health.observe(
      this.gate.concertOf(credentials),
      async () => this.payAdmitted(await this.gate.admitToPay(credentials, () => this.reservations.find(userId, reservationId)), request),
      true,
    )
  }

  private async payAdmitted(
    admitted: Admitted,
    { userId, reservationId, idempotencyKey }: Omit<PayRequest, 'queueToken'>,
  ): Promise<Payment> {
    // 4. The payment, once per Idempotency-Key: one statement claims the key, pays and answers it.
    const { answer: paid, replayed } = await this.idempotency.once(userId, ROUTE, idempotencyKey, { reservationId }, async (key) => {
      const now = this.clock.now()
      const paymentId = newId('pay', now)
      const result = await this.repository.pay(admitted, { paymentId, reservationId, now: new Date(now), key })
      if (result.key_taken) return KEY_TAKEN
      this.metrics.payment(admitted.claims.concertId, result.outcome)
      if (result.outcome !== 'PAID') throw refusals[result.outcome](result)
      return {
        paymentId,
        reservationId,
        amount: result.price!,
        balance: result.balance!,
        status: 'PAID' as const,
        scheduleId: result.schedule_id!,
        concertId: result.concert_id!,
      }
    })
    if (!replayed) {
      // 5. The seat's cached reads are stale, and the token ends, which frees its slot: both at once,
      //    in one write to Redis. The end was owed in the payment's transaction: if it fails here (the
      //    queue store is down, or this process dies first), the queue's loop ends it.
      await Promise.all([
        this.reservations.seatsChanged(paid.scheduleId, paid.concertId),
        this.queue.endAfterPayment(admitted.claims).catch(() => undefined),
      ])
    }
    return { paymentId: paid.paymentId, reservationId, amount: paid.amount, balance: paid.balance, status: 'PAID' }
  }
}
