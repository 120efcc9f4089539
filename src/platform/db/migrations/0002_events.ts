import { type Kysely, sql } from 'kysely'

/**
 * events: the outbox (every change's event, written in the change's own transaction), the
 * webhook endpoints and one delivery per endpoint and event. Written against Kysely<any>.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // An event is written without a sequence; the relay numbers committed events in the order they
  // were written, so a reader of `sequence > n` never misses one that commits later with a smaller
  // number. `written` is that order: an event caused by another is written after it committed.
  await db.schema
    .createTable('events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('written', 'bigserial', (c) => c.notNull())
    .addColumn('sequence', 'bigint', (c) => c.unique())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .execute()
  await sql`create index events_unsequenced_idx on events (written) where sequence is null`.execute(db)
  await db.schema.createIndex('events_occurred_idx').on('events').column('occurred_at').execute()

  // With NATS_URL set: the numbered events still to publish to JetStream.
  await db.schema
    .createTable('event_publications')
    .addColumn('event_id', 'text', (c) => c.primaryKey().references('events.id').onDelete('cascade'))
    .addColumn('sequence', 'bigint', (c) => c.notNull())
    .addColumn('lease_until', 'timestamptz')
    .execute()
  await db.schema.createIndex('event_publications_sequence_idx').on('event_publications').column('sequence').execute()

  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull().check(sql`length(url) <= 2048`))
    // The event types it subscribes to, or ["*"].
    .addColumn('events', 'jsonb', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    // The endpoint's own backoff: failures in a row, and when it may be tried again.
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('retry_at', 'timestamptz')
    .execute()

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
    .addColumn('event_id', 'text', (c) => c.notNull().references('events.id').onDelete('cascade'))
    .addColumn('sequence', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'delivered', 'failed')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    // Set while a relay holds the delivery; a dead relay's claim is free again once it passes.
    .addColumn('lease_until', 'timestamptz')
    .addColumn('last_response_status', 'integer')
    .addColumn('last_response_body', 'text', (c) => c.check(sql`length(last_response_body) <= 1024`))
    .addColumn('last_error', 'text')
    .addColumn('last_attempt_at', 'timestamptz')
    .addPrimaryKeyConstraint('webhook_deliveries_pk', ['webhook_id', 'event_id'])
    .execute()
  await db.schema.createIndex('webhook_deliveries_list_idx').on('webhook_deliveries').columns(['webhook_id', 'sequence']).execute()
  await sql`create index webhook_deliveries_due_idx on webhook_deliveries (webhook_id, sequence) where status = 'pending'`.execute(db)
  await db.schema.createIndex('webhook_deliveries_event_idx').on('webhook_deliveries').column('event_id').execute()
}
