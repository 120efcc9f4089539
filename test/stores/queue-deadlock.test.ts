import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrateDatabase } from '../../src/app.js'
import { type DatabaseHandle, openDatabase } from '../../src/platform/db/database.js'
import { DbQueueStore } from '../../src/queue/db-store.js'
import type { QueueSettings } from '../../src/queue/settings.js'
import { freshPostgresSchema, postgresTarget, storesOf } from '../support/stores.js'

const T0 = Date.parse('2030-01-01T00:00:00Z')
const SECOND = 1000
const settings: QueueSettings = {
  strategy: 'rate',
  admitPerTick: 1,
  tickMs: 1000,
  maxActive: 1000,
  paused: false,
  activeIdleS: 300,
  activeMaxS: 1800,
  waitingIdleS: 60,
  adaptive: { enabled: false, minAdmitPerTick: 1, maxAdmitPerTick: 1000, targetLatencyMs: 250 },
}

/**
 * A batch of polls locks the rows it marks (a fan seen, a fan ended for going quiet) in an order
 * of its own, and so does a tick of another process (the quiet fans it ends, then the front it
 * admits): the two can wait on each other, and PostgreSQL then rolls one of them back. Here the
 * other side is a transaction of the test's own that does what a tick does, in a tick's order:
 * the fan gone quiet first, then the fan at the front. The polls, waiting first, are the victim;
 * the store runs them again, and the fans get their answers, not an error.
 */
describe.each(storesOf(postgresTarget))('a batch of polls chosen as a deadlock victim on $name', () => {
  let databaseUrl: string
  let handle: DatabaseHandle
  let store: DbQueueStore
  let other: pg.Client
  beforeAll(async () => {
    databaseUrl = await freshPostgresSchema()
    // PostgreSQL looks for a deadlock once, deadlock_timeout after a statement starts to wait, and
    // rolls back the side that finds it. The polls look after 5 s (by then the other side waits
    // too, however busy the machine), the other side after 60 s: the polls are always the victim.
    const storeUrl = new URL(databaseUrl)
    storeUrl.searchParams.set('options', `${storeUrl.searchParams.get('options')} -c deadlock_timeout=5s`)
    handle = openDatabase({ databaseUrl: storeUrl.toString(), dataDir: 'memory://', timeoutMs: 30_000 })
    await migrateDatabase(handle.db)
    store = new DbQueueStore(handle.db)
    other = new pg.Client({ connectionString: databaseUrl })
    await other.connect()
    await other.query(`set deadlock_timeout = '60s'`)
  })
  afterAll(async () => {
    await other?.end()
    await handle?.close()
  })

  /** Whether a statement of the store waits on a row lock. */
  const pollsWaitOnALock = async () => {
    const { rows } = await other.query(
      `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%queue_status_many%' and pid <> pg_backend_pid()`,
    )
    return rows[0].n > 0
  }

  it('when the polls and a tick lock the same two entries in opposite orders, then the polls run again and answer', async () => {
    const concertId = `con_${randomBytes(8).toString('hex')}`
    const front = await store.join(concertId, 'usr_front', 'qt_front', 1, T0, settings)
    const quiet = await store.join(concertId, 'usr_quiet', 'qt_quiet', 2, T0, settings)
    const entry = (userId: string, joined: { joinedAt: number; orderKey: number }) => ({ userId, ...joined })
    // The front fan polls now and then; the other goes quiet past the waiting idle limit.
    await store.status(concertId, front.tokenId, T0 + 40 * SECOND, settings, entry('usr_front', front))
    const at = T0 + 70 * SECOND

    await other.query('begin')
    await other.query(`update queue_entries set last_seen_at = last_seen_at where token_id = 'qt_quiet'`)
    const polls = Promise.all([
      store.status(concertId, front.tokenId, at, settings, entry('usr_front', front)),
      store.status(concertId, quiet.tokenId, at, settings, entry('usr_quiet', quiet)),
    ])
    const answered = polls.then(
      () => true,
      () => true,
    )
    while (!(await pollsWaitOnALock())) {
      if (await Promise.race([answered, new Promise((r) => setTimeout(() => r(false), 20))])) break
    }
    await other.query(`update queue_entries set last_seen_at = last_seen_at where token_id = 'qt_front'`)
    await other.query('commit')

    const [frontNow, quietNow] = await polls
    expect(frontNow).toEqual({ state: 'WAITING', position: 1 })
    expect(quietNow).toMatchObject({ state: 'EXPIRED', reason: 'WAITING_IDLE' })
    const { rows } = await sql<{ token_id: string; status: string }>`
      select token_id, status from queue_entries where concert_id = ${concertId} order by token_id`.execute(handle.db)
    expect(rows).toEqual([
      { token_id: 'qt_front', status: 'WAITING' },
      { token_id: 'qt_quiet', status: 'EXPIRED' },
    ])
  })
})
