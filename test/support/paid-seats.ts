import { sql } from 'kysely'
import type { Db } from '../../src/platform/db/database.js'

/**
 * Sells the first `count` seats of a date to as many new fans, straight in the database and in
 * the shape the sale leaves behind: each fan charged the price and paid it (two ledger entries, a
 * balance of 0), a CONFIRMED reservation, its payment, its seat SOLD. For tests and benchmarks of
 * what follows a sale (a cancelled date), where selling 60,000 seats through the API first would
 * be the whole run.
 */
export async function sellSeats(
  db: Db,
  {
    concertId,
    scheduleId,
    count,
    price,
    startsAt,
  }: { concertId: string; scheduleId: string; count: number; price: number; startsAt: Date },
): Promise<void> {
  const at = new Date()
  // Ids end in the seat number, so one seller's rows are told apart; payments keep the pay_ prefix.
  const n = sql`generate_series(1, ${count}::int) as n`
  const user = sql`'usr_sold_' || ${scheduleId}::text || '_' || n`
  const reservation = sql`'rsv_sold_' || ${scheduleId}::text || '_' || n`
  const payment = sql`'pay_sold_' || ${scheduleId}::text || '_' || n`
  await db.transaction().execute(async (trx) => {
    await sql`insert into users (id, created_at) select ${user}, ${at} from ${n}`.execute(trx)
    await sql`insert into wallets (user_id, balance) select ${user}, 0 from ${n}`.execute(trx)
    await sql`insert into balance_ledger (user_id, kind, amount, balance_after, ref_id, created_at)
      select ${user}, 'CHARGE', ${price}::bigint, ${price}::bigint, 'chg_sold_' || ${scheduleId}::text || '_' || n, ${at} from ${n}`.execute(
      trx,
    )
    await sql`insert into balance_ledger (user_id, kind, amount, balance_after, ref_id, created_at)
      select ${user}, 'PAYMENT', 0 - ${price}::bigint, 0, ${payment}, ${at} from ${n}`.execute(trx)
    await sql`insert into reservations (id, user_id, concert_id, schedule_id, seat_no, price, status, held_until,
                                        schedule_starts_at, created_at, updated_at)
      select ${reservation}, ${user}, ${concertId}, ${scheduleId}, n, ${price}::bigint, 'CONFIRMED', ${at}, ${startsAt}, ${at}, ${at}
      from ${n}`.execute(trx)
    await sql`insert into payments (id, user_id, reservation_id, amount, created_at)
      select ${payment}, ${user}, ${reservation}, ${price}::bigint, ${at} from ${n}`.execute(trx)
    await sql`update seats set status = 'SOLD', reservation_id = 'rsv_sold_' || ${scheduleId}::text || '_' || seat_no
      where schedule_id = ${scheduleId} and seat_no <= ${count}::int`.execute(trx)
  })
}
