import { Generations } from './generations.js'

/**
 * One load per key at a time: whoever asks while a load runs shares it, so a crowd missing one
 * key costs one load, not one each. `invalidate` makes the next caller start a load of its own
 * and marks a load that was running as out of date: its value is still its callers' answer, but
 * it is not kept. Every hand-made "promise per key" belongs here.
 */
export class SingleFlight<V> {
  readonly #flights = new Map<string, { promise: Promise<V>; version: number }>()
  /** Bumped by `invalidate`; bounded, and a key forgotten here has no load of its own running. */
  readonly #versions: Generations<number>

  /** `maxKeys`: how many keys' invalidations are remembered at the most. */
  constructor(maxKeys = 10_000) {
    this.#versions = new Generations(Math.ceil(maxKeys / 2))
  }

  /**
   * The load of `key` running now, unless an invalidation came after it started; else `load()`.
   * `keep` receives the value of a load that no invalidation overtook (to store it), and `load`
   * receives `current`, which says whether that is still so (to decide on a fallback).
   */
  run(key: string, load: (current: () => boolean) => Promise<V>, keep?: (value: V) => void): Promise<V> {
    const version = this.#versions.get(key) ?? 0
    const flight = this.#flights.get(key)
    if (flight && flight.version === version) return flight.promise
    const current = () => (this.#versions.get(key) ?? 0) === version
    const landed = () => {
      if (this.#flights.get(key)?.promise === promise) this.#flights.delete(key)
    }
    const promise = load(current).then(
      (value) => {
        landed()
        if (keep && current()) keep(value)
        return value
      },
      (err: unknown) => {
        landed()
        throw err
      },
    )
    this.#flights.set(key, { promise, version })
    return promise
  }

  /** The keys with a load running now. */
  running(): string[] {
    return [...this.#flights.keys()]
  }

  /** Resolves once no load runs, those started meanwhile included, however they ended. */
  async settled(): Promise<void> {
    while (this.#flights.size > 0) await Promise.allSettled([...this.#flights.values()].map((f) => f.promise))
  }

  /** Later callers of `key` start a new load; the value of one running now is not kept. */
  invalidate(key: string) {
    this.#versions.set(key, (this.#versions.get(key) ?? 0) + 1)
  }
}
