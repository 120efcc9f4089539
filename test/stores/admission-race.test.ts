import { randomInt } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/platform/db/database.js'
import type { RedisQueueStore } from '../../src/queue/redis-store.js'
import type { QueueSettings } from '../../src/queue/settings.js'
import { barrier } from '../support/barrier.js'
import { queueStoreTargets, type StoreUnderTest } from '../support/queue-store-targets.js'

const CAP = 5
const limits: QueueSettings = {
  strategy: 'cap',
  admitPerTick: 100,
  tickMs: 10,
  maxActive: CAP,
  paused: false,
  activeIdleS: 60,
  activeMaxS: 600,
  waitingIdleS: 600,
  adaptive: { enabled: false, minAdmitPerTick: 1, maxAdmitPerTick: 1000, targetLatencyMs: 250 },
}

type Admitter = (connection: number, concertId: string, now: number) => Promise<void>

/**
 * Many connections admit at once while admitted users leave, as several processes would; returns
 * the most users ever active at once. The check every admission design must pass: at most CAP.
 */
async function race(sut: StoreUnderTest, admitOnce: Admitter): Promise<number> {
  const store = sut.stores[0]!
  const concertId = await sut.newConcert()
  let now = Date.parse('2030-01-01T00:00:00Z')
  const tokens: string[] = []
  for (let i = 0; i < 80; i++)
    tokens.push((await store.join(concertId, `usr_${i}`, `qt_${randomInt(1e12)}_${i}`, i + 1, now, limits)).tokenId)
  let maxActive = 0
  for (let round = 0; round < 12; round++) {
    // Each connection in its own tick window, so every one of them really admits, all at once.
    await Promise.all(sut.stores.map((_, i) => admitOnce(i, concertId, now + i * limits.tickMs)))
    now += sut.stores.length * limits.tickMs
    const states = await Promise.all(tokens.map(async (t) => [t, (await store.peek(concertId, t, now)).state] as const))
    const active = states.filter(([, s]) => s === 'ACTIVE').map(([t]) => t)
    maxActive = Math.max(maxActive, active.length)
    // Two of the admitted leave, through different connections.
    await Promise.all(
      active.slice(0, 2).map((t, i) => sut.stores[i % sut.stores.length]!.end(concertId, t, 'PAID', now, { ...limits, paused: true })),
    )
  }
  return maxActive
}

describe.each(queueStoreTargets.filter((t) => t.name === 'redis' || t.name === 'postgres'))(
  'admission under concurrency on $name, with a negative control',
  (target) => {
    let sut: StoreUnderTest
    beforeAll(async () => {
      sut = await target.open(4)
    })
    afterAll(() => sut.close())

    it('when several connections run the atomic tick at once, then no more than the cap are ever active', async () => {
      const maxActive = await race(sut, (i, concertId, now) => sut.stores[i]!.tick(concertId, now, limits).then(() => {}))
      expect(maxActive).toBe(CAP)
    })

    it('negative control: when admission reads, then writes in separate steps, then the same check catches the cap being exceeded', async () => {
      const admit = target.name === 'redis' ? nonAtomicRedisAdmit(sut) : nonAtomicDatabaseAdmit(sut)
      const maxActive = await race(sut, admit)
      expect(maxActive).toBeGreaterThan(CAP)
    })
  },
)

/** The seed's read-then-write admission: count the active set, then pop that many into it. */
function nonAtomicRedisAdmit(sut: StoreUnderTest): Admitter {
  const together = barrier(sut.stores.length)
  return async (i, concertId, now) => {
    const store = sut.stores[i] as RedisQueueStore
    const { redis } = store
    const [waiting, seen, active, maxUntil] = (['waiting', 'seen', 'active', 'maxuntil'] as const).map((k) => store.key(concertId, k))
    const free = CAP - (await redis.zcount(active!, `(${now}`, '+inf'))
    await together()
    if (free <= 0) return
    const popped = await redis.zpopmin(waiting!, free)
    for (let j = 0; j < popped.length; j += 2) {
      await redis.zrem(seen!, popped[j]!)
      await redis.zadd(active!, now + limits.activeIdleS * 1000, popped[j]!)
      await redis.hset(maxUntil!, popped[j]!, now + limits.activeMaxS * 1000)
    }
  }
}

/** The same on the database: count, then admit, each its own statement, with no lock between. */
function nonAtomicDatabaseAdmit(sut: StoreUnderTest): Admitter {
  const together = barrier(sut.stores.length)
  return async (i, concertId, now) => {
    const db = (sut.stores[i] as unknown as { db: Db }).db
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from queue_entries
      where concert_id = ${concertId} and status = 'ACTIVE' and active_until > ${new Date(now)}`.execute(db)
    await together()
    const free = CAP - rows[0]!.n
    if (free <= 0) return
    await sql`
      update queue_entries set status = 'ACTIVE', admitted_at = ${new Date(now)},
        active_until = ${new Date(now + limits.activeIdleS * 1000)}, active_max_until = ${new Date(now + limits.activeMaxS * 1000)}
      where token_id in (
        select token_id from queue_entries where concert_id = ${concertId} and status = 'WAITING'
        order by order_key limit ${free} for update skip locked)`.execute(db)
  }
}
