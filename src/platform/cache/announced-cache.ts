import { type Cache, cacheName, type LocalCache } from './cache.js'

/**
 * Values cached for this long or less are not announced: another process may show them this old,
 * as the Redis cache's in-process layer may.
 */
const UNANNOUNCED_TTL_MS = 1000

/**
 * The shared cache of processes that share PostgreSQL and no Redis: each keeps its own values,
 * and an invalidation of a long-lived value (a concert, its dates) is announced to all of them
 * (`announce`, a PostgreSQL NOTIFY), so the others drop it as soon as they hear (`heard`) and
 * not when its TTL runs out. Short-lived values (free-seat counts, seat maps) are not announced:
 * their TTL already bounds how old another process shows them.
 */
export class AnnouncedCache implements Cache {
  /** The TTL each cache name was last read with, by `cacheName`: what decides whether a key is announced. */
  readonly #ttls = new Map<string, number>()

  constructor(
    private readonly local: LocalCache,
    private readonly announce: (keys: string[]) => Promise<void>,
  ) {}

  get<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    this.#ttls.set(cacheName(key), ttlMs)
    return this.local.get(key, ttlMs, load)
  }

  /**
   * The write has committed before this runs; if the announcement fails, the others see the change
   * when their values expire, so a failure here is not the request's failure. A key whose name
   * this process has never read is announced: it cannot tell how long the others keep it.
   */
  async invalidate(...keys: string[]): Promise<void> {
    await this.local.invalidate(...keys)
    const announced = keys.filter((key) => (this.#ttls.get(cacheName(key)) ?? Number.POSITIVE_INFINITY) > UNANNOUNCED_TTL_MS)
    if (announced.length > 0) await this.announce(announced).catch(() => undefined)
  }

  /** Another process (or this one) announced these keys invalidated. */
  heard(keys: string[]): Promise<void> {
    return this.local.invalidate(...keys)
  }

  /** Listening again after a loss: what was announced meanwhile is unknown, so every value goes. */
  forgetAll(): Promise<void> {
    return this.local.invalidate(...this.local.keys())
  }
}
