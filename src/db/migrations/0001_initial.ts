import { type Kysely, sql } from 'kysely'

// Written against Kysely<any> so it never depends on today's table types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('balance', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`balance >= 0`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('balance_ledger')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('CHARGE', 'PAYMENT')`))
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('balance_after', 'bigint', (c) => c.notNull().check(sql`balance_after >= 0`))
    .addColumn('ref_id', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('balance_ledger_user_idx').on('balance_ledger').columns(['user_id', 'id']).execute()

  await db.schema
    .createTable('concerts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('performer', 'text', (c) => c.notNull())
    .addColumn('venue', 'text', (c) => c.notNull())
    .addColumn('queue_opens_at', 'timestamptz')
    .addColumn('sale_opens_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addCheckConstraint('concerts_opening_order', sql`queue_opens_at <= sale_opens_at`)
    .execute()

  await db.schema
    .createTable('schedules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('concert_id', 'text', (c) => c.notNull().references('concerts.id'))
    .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
    .addColumn('total_seats', 'integer', (c) => c.notNull().check(sql`total_seats > 0`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('schedules_concert_idx').on('schedules').columns(['concert_id', 'starts_at']).execute()

  await db.schema
    .createTable('schedule_sections')
    .addColumn('schedule_id', 'text', (c) => c.notNull().references('schedules.id'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('rows', 'integer', (c) => c.notNull())
    .addColumn('seats_per_row', 'integer', (c) => c.notNull())
    .addColumn('first_seat_no', 'integer', (c) => c.notNull())
    .addColumn('price', 'bigint', (c) => c.notNull().check(sql`price >= 0`))
    .addPrimaryKeyConstraint('schedule_sections_pk', ['schedule_id', 'position'])
    .execute()

  await db.schema
    .createTable('seats')
    .addColumn('schedule_id', 'text', (c) => c.notNull().references('schedules.id'))
    .addColumn('seat_no', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('AVAILABLE').check(sql`status in ('AVAILABLE', 'HELD', 'SOLD')`),
    )
    .addColumn('reservation_id', 'text')
    .addColumn('held_until', 'timestamptz')
    .addPrimaryKeyConstraint('seats_pk', ['schedule_id', 'seat_no'])
    .addCheckConstraint('seats_held_has_expiry', sql`(status = 'HELD') = (held_until is not null)`)
    .execute()
  // Seat maps list the seats that are not plainly available; most of a fresh venue is.
  await db.schema
    .createIndex('seats_taken_idx')
    .on('seats')
    .columns(['schedule_id', 'seat_no'])
    .where(sql.ref('status'), '<>', 'AVAILABLE')
    .execute()

  await db.schema
    .createTable('reservations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('concert_id', 'text', (c) => c.notNull().references('concerts.id'))
    .addColumn('schedule_id', 'text', (c) => c.notNull().references('schedules.id'))
    .addColumn('seat_no', 'integer', (c) => c.notNull())
    .addColumn('price', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('HELD', 'CONFIRMED', 'RELEASED', 'EXPIRED')`),
    )
    .addColumn('held_until', 'timestamptz', (c) => c.notNull())
    .addColumn('queue_token_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('reservations_user_idx').on('reservations').columns(['user_id', 'id']).execute()
  await db.schema
    .createIndex('reservations_live_hold_idx')
    .on('reservations')
    .columns(['user_id', 'schedule_id', 'held_until'])
    .where(sql.ref('status'), '=', 'HELD')
    .execute()

  await db.schema
    .createTable('payments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('reservation_id', 'text', (c) => c.notNull().unique().references('reservations.id'))
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('route', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_body', 'jsonb', (c) => c.notNull())
    .addColumn('response_status', 'integer')
    .addColumn('response_body', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['user_id', 'route', 'key'])
    .execute()
  await db.schema.createIndex('idempotency_keys_created_idx').on('idempotency_keys').column('created_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'idempotency_keys',
    'payments',
    'reservations',
    'seats',
    'schedule_sections',
    'schedules',
    'concerts',
    'balance_ledger',
    'users',
  ]) {
    await db.schema.dropTable(table).execute()
  }
}
