import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, type LogEvent, PostgresDialect } from 'kysely'
import pg from 'pg'
import { isInMemory } from '../data-dir.js'
import { PGliteDialect } from './pglite-dialect.js'

/** The database, seen by no component's tables: each component views it through its own. */
export type Db = Kysely<any>
/** A transaction (or the database) that one component passes to another's repository. */
export type Tx = Kysely<any>

export interface DatabaseHandle {
  db: Db
  kind: 'pglite' | 'postgres'
  close(): Promise<void>
}

const INT8_OID = 20

// bigint columns hold money and counters far below 2^53: read them as numbers on both drivers.
const parseInt8 = (value: string) => Number(value)

/**
 * A pg client that prepares each parameterised statement once per connection (named by a hash
 * of its text) and then only binds and executes it: PostgreSQL parses and plans the hot
 * statements once instead of on every request.
 */
class PreparingClient extends pg.Client {
  override query(config: unknown, values?: unknown, callback?: unknown): any {
    if (typeof config === 'string' && Array.isArray(values) && values.length > 0 && typeof callback !== 'function') {
      let name = statementNames.get(config)
      if (!name) {
        name = `s_${createHash('sha1').update(config).digest('hex').slice(0, 20)}`
        if (statementNames.size < MAX_NAMED_STATEMENTS) statementNames.set(config, name)
      }
      return super.query({ name, text: config, values })
    }
    return (super.query as (...args: unknown[]) => unknown)(config, values, callback)
  }
}
const statementNames = new Map<string, string>()
/** Statement shapes are finite in this code; the bound only guards against a runaway. */
const MAX_NAMED_STATEMENTS = 5000

export interface DatabaseOptions {
  databaseUrl?: string
  dataDir: string
  /** Size of the PostgreSQL pool. */
  poolSize?: number
  /** Longest wait for a connection or a statement of PostgreSQL; then the call fails (503). */
  timeoutMs?: number
  /** Told of every statement: how long it took and whether it failed. */
  observe?: (seconds: number, failed: boolean) => void
  /**
   * The embedded database in memory starts as a copy of this image (PGlite's `dumpDataDir`)
   * instead of empty: tests start from one already migrated, which is several times faster.
   */
  embeddedImage?: Blob
}

/** Kysely's log hook, as a timing observer. */
const logTo = (observe: DatabaseOptions['observe']) =>
  observe && ((event: LogEvent) => observe(event.queryDurationMillis / 1000, event.level === 'error'))

export function openDatabase(options: DatabaseOptions): DatabaseHandle {
  if (options.databaseUrl) {
    const timeoutMs = options.timeoutMs ?? 2000
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 20,
      // Bounded waits: for a connection, for the server to run a statement, and for its answer
      // to arrive at all (a stalled network is caught only on this side).
      connectionTimeoutMillis: timeoutMs,
      statement_timeout: timeoutMs,
      query_timeout: timeoutMs + 500,
      idle_in_transaction_session_timeout: 4 * timeoutMs,
      Client: PreparingClient,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    })
    // A client that loses its server emits 'error' whether idle or checked out; the query in
    // flight is rejected anyway, so the event itself must not crash the process.
    pool.on('error', () => {})
    pool.on('connect', (client) => client.on('error', () => {}))
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }), log: logTo(options.observe) })
    return { db, kind: 'postgres', close: () => db.destroy() }
  }
  let dataDir: string | undefined
  if (!isInMemory(options.dataDir)) {
    dataDir = join(options.dataDir, 'pgdata')
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  }
  // One options object: PGlite reads its second argument only when the first is a path.
  const image = dataDir === undefined ? options.embeddedImage : undefined
  const pglite = new PGlite({ dataDir, parsers: { [INT8_OID]: parseInt8 }, ...(image && { loadDataDir: image }) })
  const db = new Kysely<any>({ dialect: new PGliteDialect(pglite), log: logTo(options.observe) })
  return { db, kind: 'pglite', close: () => db.destroy() }
}

/** Runs `fn` in a transaction: the caller's, when it is already in one, or a new one. */
export function inTransaction<T>(db: Tx, fn: (trx: Tx) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn)
}

/** PostgreSQL's codes for a statement chosen to fail so that others can go on: a deadlock, a serialization failure. */
const RETRYABLE = new Set(['40P01', '40001'])
const RETRIES = 3

/**
 * Runs `statement` again when PostgreSQL chose it as the victim of a deadlock (or of a
 * serialization failure): it was rolled back whole, and the statements it waited on have gone on,
 * so running it again is safe for a statement that is its own transaction. Statements that lock
 * several rows in an order of their own (a batch of polls, a tick) need it; after RETRIES the error
 * goes to the caller, which answers 503.
 */
export async function retryingConflicts<T>(statement: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement()
    } catch (err) {
      if (attempt >= RETRIES || !isConflict(err)) throw err
    }
  }
}

/** Whether PostgreSQL rolled the statement back to let others go on: safe to run again, and answered 503 when it keeps failing. */
export const isConflict = (err: unknown): boolean => RETRYABLE.has((err as { code?: string } | null)?.code ?? '')
