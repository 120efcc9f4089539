/**
 * The bounded map: every in-process map keyed by something unbounded (concerts, tokens, cache
 * keys) is one of these. It keeps recently used entries in two generations: lookups read both, a hit in the old
 * one moves up, new entries go to the young one, and when it is full the old one is dropped whole.
 * Evicting one entry at a time from a Map instead walks the holes its deletions leave, which grows
 * to tens of microseconds an entry at this size.
 */
export class Generations<V> {
  #young = new Map<string, V>()
  #old = new Map<string, V>()

  /** Holds at most twice `generationSize` entries. */
  constructor(private readonly generationSize: number) {}

  get(key: string): V | undefined {
    const young = this.#young.get(key)
    if (young !== undefined) return young
    const old = this.#old.get(key)
    if (old !== undefined) this.set(key, old)
    return old
  }

  set(key: string, value: V) {
    if (this.#young.size >= this.generationSize) {
      this.#old = this.#young
      this.#young = new Map()
    }
    this.#young.set(key, value)
  }

  delete(key: string) {
    this.#young.delete(key)
    this.#old.delete(key)
  }

  /** The keys held now, each once. */
  keys(): string[] {
    return [...new Set([...this.#young.keys(), ...this.#old.keys()])]
  }
}
