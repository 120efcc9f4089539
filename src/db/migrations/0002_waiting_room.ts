import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  // One row per queue token. Position is a range count over the waiting index; admission and
  // expiry are set-based updates.
  await db.schema
    .createTable('queue_entries')
    .addColumn('token_id', 'text', (c) => c.primaryKey())
    .addColumn('concert_id', 'text', (c) => c.notNull().references('concerts.id'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('order_key', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('WAITING', 'ACTIVE', 'ENDED')`))
    .addColumn('joined_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
    .addColumn('admitted_at', 'timestamptz')
    .addColumn('active_until', 'timestamptz')
    .addColumn('active_max_until', 'timestamptz')
    .addColumn('ended_at', 'timestamptz')
    .addColumn('end_reason', 'text')
    .execute()
  await db.schema
    .createIndex('queue_entries_live_user_idx')
    .unique()
    .on('queue_entries')
    .columns(['concert_id', 'user_id'])
    .where(sql.ref('status'), '<>', 'ENDED')
    .execute()
  await db.schema
    .createIndex('queue_entries_waiting_idx')
    .on('queue_entries')
    .columns(['concert_id', 'order_key'])
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
  await sql`create sequence queue_order_seq`.execute(db)

  // The admission tick of each concert: its row lock serialises admitters across processes.
  await db.schema
    .createTable('queue_ticks')
    .addColumn('concert_id', 'text', (c) => c.primaryKey().references('concerts.id'))
    .addColumn('last_tick_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute()

  // Operators' live overrides of the queue settings; null means the deployment's default.
  await db.schema
    .createTable('queue_settings')
    .addColumn('concert_id', 'text', (c) => c.primaryKey().references('concerts.id'))
    .addColumn('strategy', 'text', (c) => c.check(sql`strategy in ('rate', 'cap', 'hybrid')`))
    .addColumn('admit_per_tick', 'integer')
    .addColumn('tick_ms', 'integer')
    .addColumn('max_active', 'integer')
    .addColumn('paused', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('queue_settings').execute()
  await db.schema.dropTable('queue_ticks').execute()
  await sql`drop sequence queue_order_seq`.execute(db)
  await db.schema.dropTable('queue_entries').execute()
}
