import { type Kysely, sql } from 'kysely'

/**
 * The tables, by the component that owns them. Written against Kysely<any> so it never depends on
 * today's types. Functions are not here: they live as .sql files beside their component and are
 * applied at every start.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // users: a demo sign-up has no identity; a user of the identity provider has its issuer and
  // subject, unique, so the same person is always the same user
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('idp_issuer', 'text')
    .addColumn('idp_subject', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('users_identity_unique', ['idp_issuer', 'idp_subject'])
    .addCheckConstraint('users_identity_whole', sql`(idp_issuer is null) = (idp_subject is null)`)
    .execute()

  // wallet: a balance per user, and its ledger
  await db.schema
    .createTable('wallets')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
    .addColumn('balance', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`balance >= 0`))
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

  // catalog: concerts, their dates, and each date's sections
  await db.schema
    .createTable('concerts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('performer', 'text', (c) => c.notNull())
    .addColumn('venue', 'text', (c) => c.notNull())
    .addColumn('queue_opens_at', 'timestamptz')
    .addColumn('sale_opens_at', 'timestamptz')
    // Joining its queue needs a proof of work ('pow') or not ('none').
    .addColumn('join_challenge', 'text', (c) => c.notNull().defaultTo('none').check(sql`join_challenge in ('none', 'pow')`))
    // Most seats one fan may hold or have bought, all dates together; null: the deployment's default.
    .addColumn('max_tickets_per_user', 'integer', (c) => c.check(sql`max_tickets_per_user between 1 and 1000`))
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

  // reservation: one row per seat (the seat's lock point), and the holds taken on them.
  // Holds and joins of a sale would all take a KEY SHARE lock on the same concert and schedule
  // rows: tens of thousands of lockers of one row make PostgreSQL build multixacts for it and the
  // sale slows down. Concerts and schedules are never deleted and these references are written
  // from the schedule's own record, so they carry no foreign keys.
  await db.schema
    .createTable('seats')
    .addColumn('schedule_id', 'text', (c) => c.notNull().references('schedules.id'))
    .addColumn('seat_no', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('AVAILABLE').check(sql`status in ('AVAILABLE', 'HELD', 'SOLD')`))
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
    .addColumn('concert_id', 'text', (c) => c.notNull())
    .addColumn('schedule_id', 'text', (c) => c.notNull())
    .addColumn('seat_no', 'integer', (c) => c.notNull())
    .addColumn('price', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('HELD', 'CONFIRMED', 'RELEASED', 'EXPIRED')`))
    .addColumn('held_until', 'timestamptz', (c) => c.notNull())
    .addColumn('queue_token_id', 'text')
    // The date's start, copied from the schedule (it never changes): no payment after it.
    .addColumn('schedule_starts_at', 'timestamptz', (c) => c.notNull())
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

  // payment
  await db.schema
    .createTable('payments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('reservation_id', 'text', (c) => c.notNull().unique().references('reservations.id'))
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute()

  // idempotency: the first finished answer of each key
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('route', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_body', 'jsonb', (c) => c.notNull())
    .addColumn('answer', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['user_id', 'route', 'key'])
    .execute()
  await db.schema.createIndex('idempotency_keys_created_idx').on('idempotency_keys').column('created_at').execute()

  // queue: one row per queue token. A position is a range count over the waiting index;
  // admission and expiry are set-based updates.
  await db.schema
    .createTable('queue_entries')
    .addColumn('token_id', 'text', (c) => c.primaryKey())
    .addColumn('concert_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('order_key', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('WAITING', 'ACTIVE', 'EXPIRED')`))
    .addColumn('joined_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
    .addColumn('admitted_at', 'timestamptz')
    .addColumn('active_until', 'timestamptz')
    .addColumn('active_max_until', 'timestamptz')
    .addColumn('ended_at', 'timestamptz')
    .addColumn('end_reason', 'text', (c) => c.check(sql`end_reason in ('LEFT', 'PAID', 'WAITING_IDLE', 'ACTIVE_IDLE', 'HARD_LIMIT')`))
    .execute()
  await db.schema
    .createIndex('queue_entries_live_user_idx')
    .unique()
    .on('queue_entries')
    .columns(['concert_id', 'user_id'])
    .where(sql.ref('status'), '<>', 'EXPIRED')
    .execute()
  await db.schema
    .createIndex('queue_entries_waiting_idx')
    .on('queue_entries')
    .columns(['concert_id', 'order_key', 'token_id'])
    .where(sql.ref('status'), '=', 'WAITING')
    .execute()
  await db.schema
    .createIndex('queue_entries_active_idx')
    .on('queue_entries')
    .columns(['concert_id', 'active_until'])
    .where(sql.ref('status'), '=', 'ACTIVE')
    .execute()
  await db.schema
    .createIndex('queue_entries_admitted_idx')
    .on('queue_entries')
    .columns(['concert_id', 'admitted_at'])
    .where(sql.ref('admitted_at'), 'is not', null)
    .execute()
  // A position stays an index-only count only while the visibility map is fresh: a line that
  // grows by thousands a minute needs vacuum to follow the inserts, not a fraction of the table.
  await sql`alter table queue_entries set (
    autovacuum_vacuum_insert_threshold = 2000, autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_threshold = 2000, autovacuum_vacuum_scale_factor = 0.02)`.execute(db)
  // The admission tick of each concert: its row lock serialises admitters across processes.
  await db.schema
    .createTable('queue_ticks')
    .addColumn('concert_id', 'text', (c) => c.primaryKey())
    .addColumn('last_tick_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute()
  // Token ends owed after payments: written in the payment's transaction, done once the queue
  // store has ended the token, so a paid token ends even if its process dies or Redis is down.
  await db.schema
    .createTable('queue_owed_ends')
    .addColumn('token_id', 'text', (c) => c.primaryKey())
    .addColumn('concert_id', 'text', (c) => c.notNull())
    .addColumn('owed_since', 'timestamptz', (c) => c.notNull())
    .execute()
  // Proof-of-work solutions already used (when the queue has no Redis): each works once.
  await db.schema
    .createTable('used_challenges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute()
  // Operators' live changes of the queue settings, over the deployment's defaults.
  await db.schema
    .createTable('queue_settings')
    .addColumn('concert_id', 'text', (c) => c.primaryKey())
    .addColumn('patch', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute()
}
