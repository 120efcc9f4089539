import type { Kysely } from 'kysely'

/**
 * The queue's join limit per client address, without Redis (src/queue/sql/queue_join_limit.sql).
 * Written against Kysely<any>, as every migration.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Each address's joins to a concert in its window, which starts at its first join; a row whose
  // window has ended is forgotten as other windows start (by window_ends_at, whatever its concert).
  await db.schema
    .createTable('queue_join_limits')
    .addColumn('concert_id', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('joins', 'integer', (c) => c.notNull())
    .addColumn('window_ends_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('queue_join_limits_pk', ['concert_id', 'address'])
    .execute()
  await db.schema.createIndex('queue_join_limits_ends_idx').on('queue_join_limits').column('window_ends_at').execute()
}
