import type { Clock } from '../clock.js'
import { Generations } from '../generations.js'
import type { Metrics } from '../metrics.js'
import { SingleFlight } from '../single-flight.js'

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
}

/**
 * In-process cache with single flight. `invalidate` drops a key's value and marks a load that
 * started before it as out of date: that load is neither stored nor shared with readers after it.
 * When a load fails, the last value of the key is served past its TTL unless a write invalidated
 * it, so reads survive an outage of their source.
 */
export class LocalCache implements Cache {
  readonly #entries: Generations<Entry>
  readonly #loads: SingleFlight<unknown>

  private readonly missLabel: string

  constructor(
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    {
      missLabel = 'load',
      maxEntries = 50_000,
    }: {
      /** The outcome label of a load: `load` here; the Redis cache's local layer reports its own. */
      missLabel?: string
      maxEntries?: number
    } = {},
  ) {
    this.missLabel = missLabel
    this.#entries = new Generations(Math.ceil(maxEntries / 2))
    this.#loads = new SingleFlight(maxEntries)
  }

  async get<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const hit = this.#entries.get(key)
    if (hit && hit.expiresAt > this.clock.now()) {
      this.metrics.cacheRead(cacheName(key), 'local')
      return hit.value as T
    }
    let servedStale = false
    const loaded = this.#loads.run(
      key,
      (current) => {
        if (this.missLabel === 'load') this.metrics.cacheRead(cacheName(key), 'load')
        return load().catch((err: unknown) => {
          // The source is down: an expired value that no write has invalidated is better than none.
          if (!hit || !current()) throw err
          servedStale = true
          return hit.value
        })
      },
      (value) => {
        if (!servedStale) this.#entries.set(key, { value, expiresAt: this.clock.now() + ttlMs })
      },
    )
    return loaded as Promise<T>
  }

  /** The keys held now. */
  keys(): string[] {
    return this.#entries.keys()
  }

  async invalidate(...keys: string[]): Promise<void> {
    for (const key of keys) {
      this.#loads.invalidate(key)
      this.#entries.delete(key)
    }
  }
}
