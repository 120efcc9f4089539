import { sql } from 'kysely'
import { type Db, inTransaction } from '../db/database.js'
import type { ReservationService } from '../reservation/service.js'
import type { Clock } from '../shared/clock.js'
import { conflict, notFound } from '../shared/errors.js'
import { newId } from '../shared/ids.js'

export interface Payment {
  paymentId: string
  reservationId: string
  amount: number
  balance: number
  status: 'PAID'
}

/**
 * Payment is one transaction: the hold is the user's and live, the balance covers the price, the
 * balance goes down, the seat is sold, the reservation confirmed, a payment and a ledger entry
 * written — all of it or none. Locks are taken user, seat, reservation: the order holds and
 * releases use too.
 */
export class PaymentService {
  constructor(
    private readonly reservations: ReservationService,
    private readonly clock: Clock,
  ) {}

  async pay(userId: string, reservationId: string, db: Db): Promise<Payment> {
    return inTransaction(db, async (trx) => {
      // The user's row first: concurrent payments of one user queue here, so each reads the
      // reservation as the previous one left it.
      const user = await trx.selectFrom('users').select('balance').where('id', '=', userId).forUpdate().executeTakeFirst()
      if (!user) throw notFound('reservation')
      const reservation = await this.reservations.find(userId, reservationId, trx)
      if (!reservation) throw notFound('reservation')
      const now = this.clock.now()
      const at = new Date(now)
      const paymentId = newId('pay', now)
      const { price, scheduleId, seatNo } = reservation
      const { rows } = await sql<{ sold: number; balance: number | null }>`
        with seat as (
          update seats set status = 'SOLD', held_until = null
          where schedule_id = ${scheduleId} and seat_no = ${seatNo} and reservation_id = ${reservationId}
            and status = 'HELD' and held_until > ${at} and ${user.balance}::bigint >= ${price}::bigint
          returning seat_no
        ), confirmed as (
          update reservations set status = 'CONFIRMED', updated_at = ${at}
          where id = ${reservationId} and exists (select 1 from seat)
          returning id
        ), debited as (
          update users set balance = balance - ${price}
          where id = ${userId} and exists (select 1 from seat)
          returning balance
        ), paid as (
          insert into payments (id, user_id, reservation_id, amount, created_at)
          select ${paymentId}, ${userId}, ${reservationId}, ${price}, ${at} from debited
          returning id
        ), ledger as (
          insert into balance_ledger (user_id, kind, amount, balance_after, ref_id, created_at)
          select ${userId}, 'PAYMENT', ${-price}, balance, ${paymentId}, ${at} from debited
          returning id
        )
        select (select count(*)::int from seat) + (select count(*)::int from confirmed)
                 + (select count(*)::int from paid) + (select count(*)::int from ledger) as sold,
               (select balance from debited) as balance`.execute(trx)
      const { sold, balance } = rows[0]!
      if (sold === 4 && balance !== null) {
        return { paymentId, reservationId, amount: price, balance, status: 'PAID' as const }
      }
      switch (reservation.status) {
        case 'CONFIRMED':
          throw conflict('ALREADY_PAID', 'this reservation is already paid')
        case 'RELEASED':
          throw conflict('HOLD_RELEASED', 'this hold was released')
        case 'EXPIRED':
          throw conflict('HOLD_EXPIRED', 'the hold has expired; hold the seat again')
      }
      const stillHeld = await trx
        .selectFrom('seats')
        .select('seat_no')
        .where('schedule_id', '=', scheduleId)
        .where('seat_no', '=', seatNo)
        .where('reservation_id', '=', reservationId)
        .where('status', '=', 'HELD')
        .where('held_until', '>', at)
        .executeTakeFirst()
      if (!stillHeld) throw conflict('HOLD_EXPIRED', 'the hold has expired; hold the seat again')
      throw conflict('INSUFFICIENT_BALANCE', `the balance ${user.balance} does not cover the price ${price}`, {
        balance: user.balance,
        price,
      })
    })
  }
}
