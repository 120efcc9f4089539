import { type Kysely, sql } from 'kysely'

/** Adaptive admission's tables (queue component); written against Kysely<any>, as every migration. */
export async function up(db: Kysely<any>): Promise<void> {
  // The booking health of each concert per window: every process adds its counts of holds and
  // payments (one count per latency bucket, and the failures); kept a few windows.
  await db.schema
    .createTable('queue_health')
    .addColumn('concert_id', 'text', (c) => c.notNull())
    .addColumn('window_no', 'bigint', (c) => c.notNull())
    .addColumn('buckets', sql`integer[]`, (c) => c.notNull())
    .addColumn('errors', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('queue_health_pk', ['concert_id', 'window_no'])
    .execute()
  // The adaptive controller of each concert: the last window taken (one process per window takes
  // it, by a conditional update) and the decision on it, which every process shows.
  await db.schema
    .createTable('queue_adaptive')
    .addColumn('concert_id', 'text', (c) => c.primaryKey())
    .addColumn('taken_window', 'bigint', (c) => c.notNull())
    .addColumn('decision', 'jsonb')
    .execute()
}
