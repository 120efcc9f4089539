const MIN_ORDER_KEY = '-9223372036854775808'

/** The first waiting entries of a line, in order; `whole` when they are all that wait. */
export interface Front {
  keys: number[]
  tokens: string[]
  whole: boolean
}

const before = (key: number, token: string, thanKey: number, thanToken: string) => key < thanKey || (key === thanKey && token < thanToken)

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

  /**
   * How many entries wait ahead of (key, token) now, or ahead of the copy's end (`end`), given the
   * front of the line now (the database store reads it with every poll). Ahead of the last entry of
   * the front, those of the front; behind it, up to the point, the copy's: the copy's entries ahead
   * of it that are not in the front have left, whichever process admitted them.
   */
  waitingAhead(point: { key: number; token: string } | 'end', front: Front): number {
    const m = front.keys.length
    const last = this.keys.length - 1
    const ahead = (i: number) =>
      point === 'end'
        ? last >= 0 && !before(this.keys[last]!, this.tokens[last]!, front.keys[i]!, front.tokens[i]!)
        : before(front.keys[i]!, front.tokens[i]!, point.key, point.token)
    let n = 0
    while (n < m && ahead(n)) n++
    if (n < m || front.whole) return n
    // The whole front is ahead of the point: then the copy's entries between its last and the point.
    const at = this.ahead(front.keys[m - 1]!, front.tokens[m - 1]!)
    const inCopy = at <= last && this.keys[at] === front.keys[m - 1] && this.tokens[at] === front.tokens[m - 1]
    const upTo = point === 'end' ? this.keys.length : this.ahead(point.key, point.token)
    return m + Math.max(0, upTo - at - (inCopy ? 1 : 0))
  }

  /** How many entries of the copy sort before (key, token), whether or not it is one of them. */
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
