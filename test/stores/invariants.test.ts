import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/platform/db/database.js'
import { newId } from '../../src/platform/ids.js'
import {
  admittedFans,
  chargeBalanceOverHttp,
  createConcert,
  type Fan,
  holdSeatOverHttp,
  listen,
  payOverHttp,
  sharedTestApp,
} from '../support/app.js'
import { barrier } from '../support/barrier.js'
import { readThenWriteHold } from '../support/negative-controls.js'
import { databaseTargets } from '../support/stores.js'

const env = { QUEUE_ADMIT_PER_TICK: '10000', QUEUE_MAX_ACTIVE: '100000', HOLD_TTL_S: '120', HOLD_MAX_PER_USER: '4' }

/** The checks each invariant test makes — run against the real code and against a broken version. */
const check = {
  /** Live holds and sales of one seat: must be at most one. */
  async claimsOnSeat(db: Db, scheduleId: string, seatNo: number, now: number): Promise<number> {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from reservations
      where schedule_id = ${scheduleId} and seat_no = ${seatNo}
        and (status = 'CONFIRMED' or (status = 'HELD' and held_until > ${new Date(now)}))`.execute(db)
    return rows[0]!.n
  },
  /** A balance and the sum of its ledger: must be equal. */
  async money(db: Db, userId: string): Promise<{ balance: number; ledger: number; entries: number }> {
    const { rows } = await sql<{ balance: number; ledger: number; entries: number }>`
      select coalesce((select balance from wallets w where w.user_id = u.id), 0)::bigint as balance,
        coalesce((select sum(amount) from balance_ledger l where l.user_id = u.id), 0)::bigint as ledger,
        (select count(*)::int from balance_ledger l where l.user_id = u.id) as entries
      from users u where u.id = ${userId}`.execute(db)
    return rows[0]!
  },
  async paymentsFor(db: Db, reservationId: string): Promise<number> {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from payments where reservation_id = ${reservationId}`.execute(db)
    return rows[0]!.n
  },
}

describe.each(databaseTargets)('invariants under concurrency on $name', (target) => {
  const t = sharedTestApp(target, env)
  let base: string
  let db: Db
  beforeAll(async () => {
    base = await listen(t.app)
    db = t.app.components.database.db
  })

  describe('1. a seat has at most one live hold or sale', () => {
    it('when 200 fans race for one seat over HTTP, then exactly one holds it', async () => {
      // Seats for every fan: no more fans are admitted at once than seats left to sell.
      const { concertId, scheduleId } = await createConcert(t, { sections: [{ name: 'A', rows: 4, seatsPerRow: 50, price: 50_000 }] })
      const fans = await admittedFans(t, concertId, 200)
      const results = await Promise.all(fans.map((f) => holdSeatOverHttp(base, f.headers, scheduleId, 25)))
      expect(results.filter((r) => r.status === 201)).toHaveLength(1)
      expect(results.filter((r) => r.status === 409 && r.body.code === 'SEAT_UNAVAILABLE')).toHaveLength(199)
      expect(await check.claimsOnSeat(db, scheduleId, 25, t.clock.now())).toBe(1)
    })

    it('negative control: a hold that reads the seat, then writes it, lets several fans hold it', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const fans = await admittedFans(t, concertId, 50)
      const now = new Date(t.clock.now())
      const heldUntil = new Date(now.getTime() + 120_000)
      const together = barrier(fans.length)
      const brokenHold = (fan: Fan) =>
        readThenWriteHold(db, together, { concertId, scheduleId, seatNo: 25, userId: fan.userId, price: 1, now, heldUntil })
      await Promise.all(fans.map(brokenHold))
      expect(await check.claimsOnSeat(db, scheduleId, 25, t.clock.now())).toBeGreaterThan(1)
    })

    it('when one fan fires eight holds at once, then no more than the four allowed succeed', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [fan] = await admittedFans(t, concertId, 1)
      const results = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((n) => holdSeatOverHttp(base, fan!.headers, scheduleId, n)))
      expect(results.filter((r) => r.status === 201)).toHaveLength(4)
      expect(results.filter((r) => r.body?.code === 'HOLD_LIMIT_REACHED')).toHaveLength(4)
    })
  })

  describe('2. a balance equals its ledger; no charge is lost or applied twice', () => {
    it('when 100 charges arrive at once, then the balance is their exact sum', async () => {
      const { concertId } = await createConcert(t)
      const [fan] = await admittedFans(t, concertId, 1)
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => chargeBalanceOverHttp(base, fan!.auth, i + 1)))
      expect(results.every((r) => r.status === 200)).toBe(true)
      expect(await check.money(db, fan!.userId)).toEqual({ balance: 5050, ledger: 5050, entries: 100 })
    })

    it('negative control: a charge that reads the balance, then writes it, loses money', async () => {
      const { concertId } = await createConcert(t)
      const [fan] = await admittedFans(t, concertId, 1)
      const together = barrier(100)
      const brokenCharge = async (amount: number) => {
        await db
          .insertInto('wallets')
          .values({ user_id: fan!.userId, balance: 0 })
          .onConflict((oc) => oc.doNothing())
          .execute()
        const { balance } = await db.selectFrom('wallets').select('balance').where('user_id', '=', fan!.userId).executeTakeFirstOrThrow()
        await together()
        await db
          .updateTable('wallets')
          .set({ balance: balance + amount })
          .where('user_id', '=', fan!.userId)
          .execute()
        await db
          .insertInto('balance_ledger')
          .values({
            user_id: fan!.userId,
            kind: 'CHARGE',
            amount,
            balance_after: balance + amount,
            ref_id: newId('chg'),
            created_at: new Date(),
          })
          .execute()
      }
      await Promise.all(Array.from({ length: 100 }, (_, i) => brokenCharge(i + 1)))
      const money = await check.money(db, fan!.userId)
      expect(money.ledger).toBe(5050)
      expect(money.balance).not.toBe(money.ledger)
    })

    it('when one payment is sent 20 times at once with one key and 20 times without, then it is paid once', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [fan] = await admittedFans(t, concertId, 1)
      await chargeBalanceOverHttp(base, fan!.auth, 100_000)
      const { body: held } = await holdSeatOverHttp(base, fan!.headers, scheduleId, 3)
      const results = await Promise.all([
        ...Array.from({ length: 20 }, () => payOverHttp(base, fan!.headers, held.reservationId, 'pay-once')),
        ...Array.from({ length: 20 }, () => payOverHttp(base, fan!.headers, held.reservationId)),
      ])
      const retries = await Promise.all(Array.from({ length: 5 }, () => payOverHttp(base, fan!.headers, held.reservationId, 'pay-once')))
      const paid = [...results, ...retries].filter((r) => r.status === 201)
      expect(new Set(paid.map((r) => r.body.paymentId)).size).toBe(1)
      // Every retry of the key replays one and the same finished answer (the payment, or the
      // ALREADY_PAID refusal if a request without the key paid first).
      expect(new Set(retries.map((r) => JSON.stringify(r)))).toHaveLength(1)
      for (const r of [...results, ...retries]) expect([201, 401, 409]).toContain(r.status)
      expect(await check.paymentsFor(db, held.reservationId)).toBe(1)
      expect(await check.money(db, fan!.userId)).toEqual({ balance: 50_000, ledger: 50_000, entries: 2 })
    })

    it('negative control: a payment that checks the reservation, then debits, pays twice', async () => {
      const { concertId, scheduleId } = await createConcert(t)
      const [fan] = await admittedFans(t, concertId, 1)
      await chargeBalanceOverHttp(base, fan!.auth, 100_000)
      const { body: held } = await holdSeatOverHttp(base, fan!.headers, scheduleId, 3)
      const together = barrier(2)
      const brokenPay = async () => {
        const r = await db.selectFrom('reservations').select('status').where('id', '=', held.reservationId).executeTakeFirstOrThrow()
        await together()
        if (r.status !== 'HELD') return
        const paymentId = newId('pay')
        await sql`update wallets set balance = balance - 50000 where user_id = ${fan!.userId}`.execute(db)
        await db
          .insertInto('payments')
          .values({ id: paymentId, user_id: fan!.userId, reservation_id: held.reservationId, amount: 50_000, created_at: new Date() })
          .onConflict((oc) => oc.doNothing())
          .execute()
        await db.updateTable('reservations').set({ status: 'CONFIRMED' }).where('id', '=', held.reservationId).execute()
      }
      await Promise.all([brokenPay(), brokenPay()])
      const money = await check.money(db, fan!.userId)
      expect(money.balance === money.ledger && money.balance === 50_000).toBe(false)
    })
  })

  describe('5. an expired hold frees its seat with no loop running', () => {
    const race = async (offsetMs: number, payFn: (fan: Fan, reservationId: string) => Promise<unknown>) => {
      const { concertId, scheduleId } = await createConcert(t)
      const [holder, rival] = await admittedFans(t, concertId, 2)
      await chargeBalanceOverHttp(base, holder!.auth, 100_000)
      const { body: held } = await holdSeatOverHttp(base, holder!.headers, scheduleId, 11)
      t.clock.advance(Date.parse(held.heldUntil) - t.clock.now() + offsetMs)
      const [, rivalHold] = await Promise.all([payFn(holder!, held.reservationId), holdSeatOverHttp(base, rival!.headers, scheduleId, 11)])
      return { scheduleId, holder: holder!, rivalHold, reservationId: held.reservationId as string }
    }

    it.each([-1, 0, 1])(
      'when the holder pays and a rival holds at heldUntil%+dms, then exactly one of them gets the seat',
      async (offset) => {
        const { scheduleId, holder, rivalHold, reservationId } = await race(offset, (fan, id) => payOverHttp(base, fan.headers, id))
        const paid = (await check.paymentsFor(db, reservationId)) === 1
        expect(paid).toBe(offset < 0)
        expect(rivalHold.status === 201).toBe(!paid)
        expect(await check.claimsOnSeat(db, scheduleId, 11, t.clock.now())).toBe(1)
        expect(await check.money(db, holder.userId)).toEqual(
          paid ? { balance: 50_000, ledger: 50_000, entries: 2 } : { balance: 100_000, ledger: 100_000, entries: 1 },
        )
      },
    )

    it('negative control: a payment that ignores the deadline sells a seat a rival already holds', async () => {
      const brokenPay = async (_fan: Fan, reservationId: string) => {
        await db.updateTable('reservations').set({ status: 'CONFIRMED' }).where('id', '=', reservationId).execute()
      }
      const { scheduleId } = await race(1, brokenPay)
      expect(await check.claimsOnSeat(db, scheduleId, 11, t.clock.now())).toBeGreaterThan(1)
    })
  })
})
