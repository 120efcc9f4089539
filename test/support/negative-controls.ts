import type { Db } from '../../src/platform/db/database.js'
import { newId } from '../../src/platform/ids.js'

/**
 * A broken hold for negative controls: reads the seat, waits at `together` (a `barrier`) so that
 * every caller has read before anyone writes, then holds the seat if it looked free.
 */
export async function readThenWriteHold(
  db: Db,
  together: () => Promise<void>,
  hold: { concertId: string; scheduleId: string; seatNo: number; userId: string; price: number; now: Date; heldUntil: Date },
): Promise<void> {
  const { concertId, scheduleId, seatNo, userId, price, now, heldUntil } = hold
  const seat = await db
    .selectFrom('seats')
    .select('status')
    .where('schedule_id', '=', scheduleId)
    .where('seat_no', '=', seatNo)
    .executeTakeFirstOrThrow()
  await together()
  if (seat.status !== 'AVAILABLE') return
  const id = newId('rsv')
  await db
    .updateTable('seats')
    .set({ status: 'HELD', reservation_id: id, held_until: heldUntil })
    .where('schedule_id', '=', scheduleId)
    .where('seat_no', '=', seatNo)
    .execute()
  await db
    .insertInto('reservations')
    .values({
      id,
      user_id: userId,
      concert_id: concertId,
      schedule_id: scheduleId,
      seat_no: seatNo,
      price,
      status: 'HELD',
      held_until: heldUntil,
      queue_token_id: null,
      // The schedule's start matters only to payments, which these controls never make.
      schedule_starts_at: heldUntil,
      created_at: now,
      updated_at: now,
    })
    .execute()
}
