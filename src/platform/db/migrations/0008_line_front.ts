import { type Kysely, sql } from 'kysely'

/**
 * A status poll's rows carry the front of the line (src/queue/sql/queue_status_many.sql): a
 * function's result columns cannot change in place, so the one of before goes, and the function
 * step that follows every migration makes it anew. Written against Kysely<any>, as every migration.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop function if exists queue_status_many(text, text[], timestamptz[], timestamptz[], interval, text[],
    timestamptz[], bigint[], bigint, text)`.execute(db)
}
