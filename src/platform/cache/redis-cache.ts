import type { Clock } from '../clock.js'
import type { Metrics } from '../metrics.js'
import type { RedisClient } from '../redis/client.js'
import { LuaScripts } from '../redis/scripts.js'
import { type Cache, cacheName, LocalCache } from './cache.js'

/** The in-process layer in front of Redis: another process's write shows here within this. */
const LOCAL_TTL_MS = 1000
/** How long one process may hold a key's load lock. */
const LOCK_MS = 3000
/** Waiting for another process's load: how often to look, and for how long at most. */
const WAIT_STEP_MS = 20
const MAX_WAITS = 50

type Script = 'cache-get' | 'cache-put' | 'cache-invalidate'

/**
 * Redis as the shared cache, with an in-process layer in front. A miss in Redis takes a short
 * lock so one process loads while the others wait for its value (no stampede across
 * processes); a generation per key keeps a load that raced an invalidation from being stored.
 */
export class RedisCache implements Cache {
  private readonly local: LocalCache
  private readonly scripts: LuaScripts<Script>

  private readonly metrics: Metrics
  private readonly prefix: string

  constructor({ redis, clock, metrics, prefix = 'sd:' }: { redis: RedisClient; clock: Clock; metrics: Metrics; prefix?: string }) {
    this.metrics = metrics
    this.prefix = prefix
    this.local = new LocalCache(clock, metrics, { missLabel: 'redis' })
    this.scripts = new LuaScripts(redis, new URL('./lua/', import.meta.url), 'stagedoor_cache')
  }

  get<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    return this.local.get(key, Math.min(ttlMs, LOCAL_TTL_MS), () => this.shared(key, ttlMs, load))
  }

  /**
   * The write has committed before this runs; if Redis cannot be reached, the write still stands
   * and the shared entry expires by its TTL, so a failure here is not the request's failure.
   */
  async invalidate(...keys: string[]): Promise<void> {
    await this.local.invalidate(...keys)
    await Promise.all(keys.map((key) => this.scripts.run('cache-invalidate', this.keys(key).slice(0, 2), []).catch(() => undefined)))
  }

  private async shared<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const keys = this.keys(key)
    for (let wait = 0; ; wait++) {
      let answer: [number, string, number?]
      try {
        answer = (await this.scripts.run('cache-get', keys, [LOCK_MS, wait < MAX_WAITS ? 1 : 0])) as [number, string, number?]
      } catch {
        // Redis does not answer: read through to the source, so the cache fails apart from it.
        this.metrics.cacheRead(cacheName(key), 'load')
        return load()
      }
      const [hit, valueOrGeneration, locked] = answer
      if (hit === 1) {
        this.metrics.cacheRead(cacheName(key), 'redis')
        return JSON.parse(valueOrGeneration) as T
      }
      if (locked === 1 || wait >= MAX_WAITS) {
        this.metrics.cacheRead(cacheName(key), 'load')
        const value = await load()
        await this.scripts.run('cache-put', keys, [JSON.stringify(value), valueOrGeneration, ttlMs]).catch(() => undefined)
        return value
      }
      await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS))
    }
  }

  private keys(key: string): string[] {
    const base = `${this.prefix}cache:{${key}}`
    return [base, `${base}:gen`, `${base}:lock`]
  }
}
