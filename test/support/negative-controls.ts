import type { Db } from '../../src/platform/db/database.js'
import { newId } from '../../src/platform/ids.js'
import type { RedisClient } from '../../src/platform/redis/client.js'

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

/**
 * A broken use of a presale code for negative controls: reads the code's uses, waits at `together`
 * (a `barrier`) so that every caller has read before anyone writes, then uses the code if it
 * looked free, writing back the count it read plus one.
 */
export async function readThenWriteCodeUse(
  db: Db,
  together: () => Promise<void>,
  use: { concertId: string; code: string; userId: string; now: Date },
): Promise<void> {
  const { concertId, code, userId, now } = use
  const row = await db
    .selectFrom('presale_codes')
    .select(['uses', 'max_uses'])
    .where('concert_id', '=', concertId)
    .where('code', '=', code)
    .executeTakeFirstOrThrow()
  await together()
  if (row.uses >= row.max_uses) return
  await db.insertInto('presale_code_uses').values({ concert_id: concertId, code, user_id: userId, used_at: now }).execute()
  await db
    .updateTable('presale_codes')
    .set({ uses: row.uses + 1, first_used_by: userId, first_used_at: now })
    .where('concert_id', '=', concertId)
    .where('code', '=', code)
    .execute()
}

/**
 * A broken heartbeat for negative controls: writes each fan's poll time into the concert's `seen`
 * set as a plain ZADD, without XX, so a fan who left or was admitted meanwhile is put back.
 */
export async function heartbeatWithoutXX(redis: RedisClient, seenKey: string, beats: [tokenId: string, now: number][]): Promise<void> {
  for (const [tokenId, now] of beats) await redis.zadd(seenKey, now, tokenId)
}
