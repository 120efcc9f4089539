import type { Clock } from './clock.js'

/**
 * A small in-process look-aside cache with a time to live and single flight: however many callers
 * miss one key at once, it is loaded once. Writers call `delete`; they never write the cache.
 */
export class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>()
  readonly #loading = new Map<string, Promise<V>>()

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The cached value if fresh, without loading. */
  peek(key: string): V | undefined {
    const hit = this.#entries.get(key)
    return hit && hit.expiresAt > this.clock.now() ? hit.value : undefined
  }

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.#entries.get(key)
    if (hit && hit.expiresAt > this.clock.now()) return hit.value
    const inFlight = this.#loading.get(key)
    if (inFlight) return inFlight
    const promise = load().then(
      (value) => {
        this.#loading.delete(key)
        if (this.#entries.size >= this.maxEntries) this.#entries.clear()
        this.#entries.set(key, { value, expiresAt: this.clock.now() + this.ttlMs })
        return value
      },
      (err: unknown) => {
        this.#loading.delete(key)
        throw err
      },
    )
    this.#loading.set(key, promise)
    return promise
  }

  delete(key: string) {
    this.#entries.delete(key)
  }

  clear() {
    this.#entries.clear()
  }
}
