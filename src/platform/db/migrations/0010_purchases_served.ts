import { type Kysely, sql } from 'kysely'

/**
 * Adaptive admission also counts the purchases the booking side completed in each window
 * (`served`): queue_health keeps them beside the latency buckets and the failures, and
 * queue_health_add and queue_adaptive_take (src/queue/sql, applied after the migrations) take and
 * return them; their earlier forms are dropped rather than left as overloads nothing calls.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('queue_health')
    .addColumn('served', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
  await sql`drop function if exists queue_health_add(text, bigint, integer[], integer, bigint)`.execute(db)
  await sql`drop function if exists queue_adaptive_take(text, bigint, timestamptz, timestamptz)`.execute(db)
}
