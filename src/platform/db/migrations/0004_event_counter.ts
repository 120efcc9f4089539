import { type Kysely, sql } from 'kysely'

/**
 * The events component's counter: the last sequence ever given, one row, which the relay moves
 * on under its numbering lock (events_sequence). Kept apart from the events themselves, so
 * numbering never starts again when retention has deleted every event. Seeded from the highest
 * sequence the database has given so far. Written against Kysely<any>, as every migration.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('event_counter')
    .addColumn('one', 'boolean', (c) => c.primaryKey().defaultTo(true).check(sql`one`))
    .addColumn('last_sequence', 'bigint', (c) => c.notNull())
    .execute()
  await sql`insert into event_counter (last_sequence) select coalesce(max(sequence), 0) from events`.execute(db)
}
