import type { Clock } from '../clock.js'
import type { Metrics } from '../metrics.js'

/**
 * Look-aside caching of reads: `get` returns the cached value or loads it once for every
 * concurrent caller (no stampede); writers call `invalidate` and never write the cache. A process
 * sees its own invalidations on its next read.
 */
export interface Cache {
  get<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T>
  invalidate(...keys: string[]): Promise<void>
}

/** The cache name in metrics: the key up to its first colon (`seats:sch_1` → `seats`). */
export const cacheName = (key: string) => {
  const colon = key.indexOf(':')
  return colon < 0 ? key : key.slice(0, colon)
}

interface Entry {
  value: unknown
  expiresAt: number
  version: number
}

/**
 * In-process cache with single flight. Each key has a version that `invalidate` bumps: a load
 * that started before an invalidation is neither stored nor shared with readers after it.
 * When a load fails, the last value of the key is served past its TTL unless a write invalidated
 * it, so reads survive an outage of their source.
 */
export class LocalCache implements Cache {
  readonly #entries = new Map<string, Entry>()
  readonly #flights = new Map<string, { promise: Promise<unknown>; version: number }>()
  readonly #versions = new Map<string, number>()

  constructor(
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    /** The outcome label of a load: `load` here; the Redis cache's local layer reports its own. */
    private readonly missLabel = 'load',
    private readonly maxEntries = 50_000,
  ) {}

  async get<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const version = this.#versions.get(key) ?? 0
    const hit = this.#entries.get(key)
    if (hit && hit.version === version && hit.expiresAt > this.clock.now()) {
      this.metrics.cacheRead(cacheName(key), 'local')
      return hit.value as T
    }
    const flight = this.#flights.get(key)
    if (flight && flight.version === version) return flight.promise as Promise<T>
    if (this.missLabel === 'load') this.metrics.cacheRead(cacheName(key), 'load')
    const promise = load().then(
      (value) => {
        if (this.#flights.get(key)?.promise === promise) this.#flights.delete(key)
        if ((this.#versions.get(key) ?? 0) === version) {
          if (this.#entries.size >= this.maxEntries) this.#entries.clear()
          this.#entries.set(key, { value, expiresAt: this.clock.now() + ttlMs, version })
        }
        return value
      },
      (err: unknown) => {
        if (this.#flights.get(key)?.promise === promise) this.#flights.delete(key)
        // The source is down: an expired value that no write has invalidated is better than none.
        if (hit && hit.version === (this.#versions.get(key) ?? 0)) return hit.value as T
        throw err
      },
    )
    this.#flights.set(key, { promise, version })
    return promise
  }

  async invalidate(...keys: string[]): Promise<void> {
    for (const key of keys) {
      if (this.#versions.size >= this.maxEntries) this.#versions.clear()
      this.#versions.set(key, (this.#versions.get(key) ?? 0) + 1)
      this.#entries.delete(key)
    }
  }
}
