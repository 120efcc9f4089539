import { type Kysely, sql } from 'kysely'

/**
 * pay_reservation takes the payment's Idempotency-Key and claims it in its own statement
 * (src/payment/sql/pay_reservation.sql, applied after the migrations): its earlier form, without
 * the key, is dropped rather than left beside the new one as an overload nothing calls.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop function if exists pay_reservation(text, text, text, timestamptz, text, text, text)`.execute(db)
}
