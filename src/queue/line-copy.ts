const MIN_ORDER_KEY = '-9223372036854775808'

/**
 * A concert's waiting line as a process copied it, in order (order key, then token, as both stores
 * sort it): a poll's place is where its entry sorts here, found by binary search, so polls do not
 * count the line. The database store takes it in one statement (db-store.ts); the Redis store in
 * slices (relief.ts).
 */
export class LineCopy {
  readonly keys: Float64Array
  readonly tokens: string[]
  readonly takenAt: number
  readonly ttlMs: number

  constructor(copy: { keys: Float64Array; tokens: string[]; takenAt: number; ttlMs: number }) {
    this.keys = copy.keys
    this.tokens = copy.tokens
    this.takenAt = copy.takenAt
    this.ttlMs = copy.ttlMs
  }

  get lastKey(): string {
    return this.keys.length === 0 ? MIN_ORDER_KEY : String(this.keys[this.keys.length - 1])
  }

  get lastToken(): string {
    return this.tokens.at(-1) ?? ''
  }

  /** Whether an entry of this order key would sort within the copy rather than after it. */
  covers(key: number): boolean {
    return this.keys.length > 0 && key <= this.keys[this.keys.length - 1]!
  }

  /** How many entries of the copy sort before (key, token). */
  ahead(key: number, token: string): number {
    let lo = 0
    let hi = this.keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const k = this.keys[mid]!
      if (k < key || (k === key && this.tokens[mid]! < token)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Where (key, token) is in the copy, or -1. */
  indexOf(key: number, token: string): number {
    const i = this.ahead(key, token)
    return this.keys[i] === key && this.tokens[i] === token ? i : -1
  }
}
