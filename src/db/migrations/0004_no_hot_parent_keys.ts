import { type Kysely, sql } from 'kysely'

/**
 * Every hold and every queue join of a sale would otherwise take a KEY SHARE lock on the same
 * concert and schedule rows: tens of thousands of concurrent lockers of one row make PostgreSQL
 * build multixacts for it, and the sale slows down. Concerts and schedules are never deleted, and
 * the references are written from the schedule's own record, so these checks guard nothing.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table reservations drop constraint reservations_concert_id_fkey`.execute(db)
  await sql`alter table reservations drop constraint reservations_schedule_id_fkey`.execute(db)
  await sql`alter table queue_entries drop constraint queue_entries_concert_id_fkey`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table reservations add foreign key (concert_id) references concerts (id)`.execute(db)
  await sql`alter table reservations add foreign key (schedule_id) references schedules (id)`.execute(db)
  await sql`alter table queue_entries add foreign key (concert_id) references concerts (id)`.execute(db)
}
