import { type Kysely, sql } from 'kysely'

/**
 * After the sale: refund policies (catalog), cancelled dates (catalog), refunds (payment) and
 * the states and ledger entries they add. Written against Kysely<any>, as every migration.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // catalog: a concert's refund policy ({refundableUntilHours, feePercent}; null: no fan refunds),
  // and a date's state: a cancelled date leaves the fans' list and takes no hold or payment.
  await db.schema.alterTable('concerts').addColumn('refund_policy', 'jsonb').execute()
  await db.schema
    .alterTable('schedules')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('ON_SALE').check(sql`status in ('ON_SALE', 'CANCELLING', 'CANCELLED')`))
    .execute()
  await db.schema.alterTable('schedules').addColumn('cancel_requested_at', 'timestamptz').execute()
  await db.schema.alterTable('schedules').addColumn('cancelled_at', 'timestamptz').execute()
  // The cancellations still refunding: any process takes one for a lease, so a dead process's
  // work is resumed by another.
  await db.schema
    .createTable('schedule_cancellations')
    .addColumn('schedule_id', 'text', (c) => c.primaryKey())
    .addColumn('concert_id', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
    .addColumn('lease_until', 'timestamptz')
    .execute()

  // reservation: a paid seat refunded is REFUNDED, and its seat is free again.
  await sql`alter table reservations drop constraint reservations_status_check`.execute(db)
  await sql`alter table reservations add constraint reservations_status_check
    check (status in ('HELD', 'CONFIRMED', 'RELEASED', 'EXPIRED', 'REFUNDED'))`.execute(db)
  // A cancellation finds the paid and held seats of its date.
  await db.schema
    .createIndex('reservations_schedule_live_idx')
    .on('reservations')
    .columns(['schedule_id', 'id'])
    .where(sql.ref('status'), 'in', sql`('HELD', 'CONFIRMED')`)
    .execute()

  // wallet: a refund is a ledger entry of its own kind.
  await sql`alter table balance_ledger drop constraint balance_ledger_kind_check`.execute(db)
  await sql`alter table balance_ledger add constraint balance_ledger_kind_check
    check (kind in ('CHARGE', 'PAYMENT', 'REFUND'))`.execute(db)

  // payment: at most one refund per payment (the primary key says so).
  await db.schema
    .createTable('refunds')
    .addColumn('payment_id', 'text', (c) => c.primaryKey().references('payments.id'))
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('reservation_id', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount >= 0`))
    .addColumn('fee', 'bigint', (c) => c.notNull().check(sql`fee >= 0`))
    .addColumn('reason', 'text', (c) => c.notNull().check(sql`reason in ('FAN', 'CANCELLED')`))
    .addColumn('schedule_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('refunds_schedule_idx').on('refunds').columns(['schedule_id', 'reason']).execute()
}
