import { type Kysely, sql } from 'kysely'

/**
 * A position is a count over the index of waiting entries. It stays an index-only scan only
 * while the visibility map is fresh, and a line that grows by thousands a minute needs vacuum to
 * follow the inserts, not the default fraction of the table.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table queue_entries set (
    autovacuum_vacuum_insert_threshold = 2000, autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_threshold = 2000, autovacuum_vacuum_scale_factor = 0.02)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table queue_entries reset (
    autovacuum_vacuum_insert_threshold, autovacuum_vacuum_insert_scale_factor,
    autovacuum_vacuum_threshold, autovacuum_vacuum_scale_factor)`.execute(db)
}
