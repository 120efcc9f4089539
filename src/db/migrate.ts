import { type Migration, type MigrationProvider, Migrator, sql } from 'kysely'
import type { Db } from './database.js'
import * as m0001 from './migrations/0001_initial.js'
import * as m0002 from './migrations/0002_waiting_room.js'
import * as m0003 from './migrations/0003_booking_functions.js'
import * as m0004 from './migrations/0004_no_hot_parent_keys.js'
import * as m0005 from './migrations/0005_queue_join_function.js'
import * as m0006 from './migrations/0006_queue_vacuum_settings.js'
import * as m0007 from './migrations/0007_queue_batches.js'

/** Every migration file, in order. A new migration is a new file in migrations/ and a line here. */
const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_waiting_room': m0002,
  '0003_booking_functions': m0003,
  '0004_no_hot_parent_keys': m0004,
  '0005_queue_join_function': m0005,
  '0006_queue_vacuum_settings': m0006,
  '0007_queue_batches': m0007,
}

const provider: MigrationProvider = { getMigrations: async () => migrations }

/**
 * Applies pending migrations in order. Kysely takes an advisory lock, so processes that start
 * together apply each migration once.
 */
export async function migrateToLatest(db: Db): Promise<void> {
  // Name the schema: otherwise Kysely takes a migration table in any schema of the database for ours.
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db)
  const migrationTableSchema = rows[0]!.schema
  const { error, results } = await new Migrator({ db, provider, migrationTableSchema }).migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed`, { cause: error })
  }
}
