import { readdirSync, readFileSync } from 'node:fs'
import { type Migration, type MigrationProvider, Migrator, sql } from 'kysely'
import type { Db } from './database.js'
import { up as baseline } from './migrations/0001_baseline.js'
import { up as events } from './migrations/0002_events.js'
import { up as adaptiveAdmission } from './migrations/0003_adaptive_admission.js'
import { up as eventCounter } from './migrations/0004_event_counter.js'
import { up as refunds } from './migrations/0005_refunds.js'
import { up as presaleCodes } from './migrations/0006_presale_codes.js'
import { up as joinLimits } from './migrations/0007_join_limits.js'
import { up as lineFront } from './migrations/0008_line_front.js'
import { up as paymentKeyInStatement } from './migrations/0009_payment_key_in_statement.js'
import { up as purchasesServed } from './migrations/0010_purchases_served.js'

/** Every migration (table changes only), in order. A new migration is a new file in migrations/ and a line here. */
const migrations: Record<string, Migration> = {
  '0001_baseline': { up: baseline },
  '0002_events': { up: events },
  '0003_adaptive_admission': { up: adaptiveAdmission },
  '0004_event_counter': { up: eventCounter },
  '0005_refunds': { up: refunds },
  '0006_presale_codes': { up: presaleCodes },
  '0007_join_limits': { up: joinLimits },
  '0008_line_front': { up: lineFront },
  '0009_payment_key_in_statement': { up: paymentKeyInStatement },
  '0010_purchases_served': { up: purchasesServed },
}

const provider: MigrationProvider = { getMigrations: async () => migrations }

// Any constant: processes that start together apply the functions one after another.
const FUNCTIONS_LOCK = 0x5d_f0_0c_71

/**
 * Applies pending migrations in order (Kysely takes a lock, so processes that start together
 * apply each once), then every database function from the given folders: one `.sql` file per
 * function, each replacing its earlier form in place, so applying them again changes nothing.
 */
export async function migrateToLatest(db: Db, functionDirs: URL[]): Promise<void> {
  // Name the schema: otherwise Kysely takes a migration table in any schema of the database for ours.
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db)
  const migrationTableSchema = rows[0]!.schema
  const migrator = new Migrator({ db, provider, migrationTableSchema })
  let { error, results } = await migrator.migrateToLatest()
  // Kysely looks for its tables among every schema of the database: another schema dropped during
  // that look-up (invalid_schema_name) fails it though ours is fine, and looking again succeeds.
  for (let retry = 0; retry < 3 && (error as { code?: string } | undefined)?.code === '3F000'; retry++) {
    ;({ error, results } = await migrator.migrateToLatest())
  }
  const failed = results?.find((r) => r.status === 'Error')
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed`, { cause: error })
  }
  const files = functionDirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .sort()
      .map((f) => new URL(f, dir)),
  )
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${FUNCTIONS_LOCK})`.execute(trx)
    // A function may call one defined in a later file: bodies are checked when called.
    await sql`set local check_function_bodies = off`.execute(trx)
    for (const file of files) await sql.raw(readFileSync(file, 'utf8')).execute(trx)
  })
}
