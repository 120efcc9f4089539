import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { sql } from 'kysely'
import { migrateDatabase } from '../../src/app.js'
import { openDatabase } from '../../src/platform/db/database.js'
import { connectRedis, type RedisClient } from '../../src/platform/redis/client.js'
import { DbQueueStore } from '../../src/queue/db-store.js'
import { RedisQueueStore } from '../../src/queue/redis-store.js'
import type { QueueStore } from '../../src/queue/store.js'
import { startRedisCluster } from './redis-cluster.js'
import { freshPostgresSchema, REDIS_URL } from './stores.js'

export interface StoreUnderTest {
  /** A store; `connections` > 1 gives stores on separate connections to the same data. */
  stores: QueueStore[]
  /** A concert id of its own (the stores need no catalog). */
  newConcert(): Promise<string>
  /** Loses every trace of the concert's line, as a Redis restarted without persistence does. */
  loseData(concertId: string): Promise<void>
  /** How many client addresses' join windows (open or ended) the store keeps for the concert. */
  joinWindows(concertId: string): Promise<number>
  close(): Promise<void>
}

export interface QueueStoreTarget {
  name: string
  open(connections?: number): Promise<StoreUnderTest>
}

async function databaseTarget(databaseUrl: string | undefined, connections: number): Promise<StoreUnderTest> {
  const open = () => openDatabase({ databaseUrl, dataDir: 'memory://', poolSize: 5 })
  const handles = [open()]
  await migrateDatabase(handles[0]!.db)
  // PGlite is one in-process database: its "connections" share one handle.
  for (let i = 1; i < connections; i++) handles.push(databaseUrl ? open() : handles[0]!)
  return {
    stores: handles.map((h) => new DbQueueStore(h.db)),
    newConcert: async () => `con_${randomBytes(8).toString('hex')}`,
    loseData: async (concertId) => {
      await sql`delete from queue_entries where concert_id = ${concertId}`.execute(handles[0]!.db)
      await sql`delete from queue_ticks where concert_id = ${concertId}`.execute(handles[0]!.db)
    },
    joinWindows: async (concertId) => {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from queue_join_limits where concert_id = ${concertId}`.execute(handles[0]!.db)
      return rows[0]!.n
    },
    close: async () => {
      for (const h of new Set(handles)) await h.close()
    },
  }
}

/** Deletes a test's keys from the shared Redis (a throwaway cluster goes away whole instead). */
async function dropKeys(redis: RedisClient, prefix: string) {
  for await (const keys of (redis as Redis).scanStream({ match: `${prefix}*`, count: 1000 })) {
    if ((keys as string[]).length > 0) await (redis as Redis).unlink(...(keys as string[]))
  }
}

async function redisTarget(url: string, connections: number, onClose?: () => Promise<void>): Promise<StoreUnderTest> {
  const prefix = `test:${randomBytes(4).toString('hex')}:`
  const clients: RedisClient[] = []
  for (let i = 0; i < connections; i++) clients.push(await connectRedis(url))
  return {
    stores: clients.map((c) => new RedisQueueStore(c, prefix)),
    newConcert: async () => `con_${randomBytes(8).toString('hex')}`,
    loseData: async (concertId) => {
      const store = new RedisQueueStore(clients[0]!, prefix)
      await clients[0]!.unlink(...store.keys(concertId))
    },
    joinWindows: async (concertId) => {
      const store = new RedisQueueStore(clients[0]!, prefix)
      const [windows, counts] = await Promise.all([
        clients[0]!.zcard(store.key(concertId, 'joinwindows')),
        clients[0]!.hlen(store.key(concertId, 'joins')),
      ])
      // Every window has its count: a window without one (or the other way round) would be a leak.
      if (windows !== counts) throw new Error(`join windows ${windows} and their counts ${counts} differ`)
      return windows
    },
    close: async () => {
      if (!onClose) await dropKeys(clients[0]!, prefix)
      for (const c of clients) await c.quit()
      await onClose?.()
    },
  }
}

export const queueStoreTargets: QueueStoreTarget[] = [
  { name: 'redis', open: (n = 1) => redisTarget(REDIS_URL, n) },
  {
    name: 'redis-cluster',
    open: async (n = 1) => {
      const cluster = await startRedisCluster()
      return redisTarget(cluster.url, n, () => cluster.stop())
    },
  },
  { name: 'pglite', open: (n = 1) => databaseTarget(undefined, n) },
  { name: 'postgres', open: async (n = 1) => databaseTarget(await freshPostgresSchema(), n) },
]
