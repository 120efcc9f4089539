import type { Clock } from '../platform/clock.js'
import { AppError } from '../platform/errors.js'
import { ADAPTIVE_WINDOW_MS } from './adaptive.js'

/**
 * The latency histogram's buckets: bucket 0 holds answers under 1 ms, bucket i (1 to 63) those
 * from 2^((i-1)/4) to 2^(i/4) ms, a step of 19%; the last also holds anything slower (about 46 s
 * and up). Fixed, so the counts of every process add up bucket by bucket in the store.
 */
const HEALTH_BUCKETS = 64
const STEPS_PER_DOUBLING = 4

const bucketOf = (ms: number) => (ms < 1 ? 0 : Math.min(HEALTH_BUCKETS - 1, Math.floor(STEPS_PER_DOUBLING * Math.log2(ms)) + 1))
const lowerBound = (bucket: number) => (bucket === 0 ? 0 : 2 ** ((bucket - 1) / STEPS_PER_DOUBLING))
const upperBound = (bucket: number) => 2 ** (bucket / STEPS_PER_DOUBLING)

/** One concert's holds and payments over one window: answers by latency bucket, and how many failed. */
export interface HealthCounts {
  /** HEALTH_BUCKETS counts, one per latency bucket; every answer, failed or not, is in one. */
  buckets: number[]
  /** Answers that were a 5xx (503 included). */
  errors: number
  /** Purchases done: payments that succeeded, the fans the booking side served to the end. */
  served: number
}

/** Counts of one concert and window, as a process hands them to the store. */
export interface HealthEntry {
  concertId: string
  /** floor(time / ADAPTIVE_WINDOW_MS) of the clock when the answers came. */
  window: number
  counts: HealthCounts
}

export const emptyCounts = (): HealthCounts => ({ buckets: new Array<number>(HEALTH_BUCKETS).fill(0), errors: 0, served: 0 })

/** The answers counted: the sum over the buckets. */
export const answered = (counts: HealthCounts) => counts.buckets.reduce((a, b) => a + b, 0)

/**
 * The latency under which 90% of the answers came, interpolated within its bucket (so within 19%
 * of the truth); undefined with no answers.
 */
export function latencyP90(counts: HealthCounts): number | undefined {
  const total = answered(counts)
  if (total === 0) return undefined
  const rank = 0.9 * total
  let below = 0
  for (let bucket = 0; bucket < HEALTH_BUCKETS; bucket++) {
    const n = counts.buckets[bucket]!
    if (n > 0 && below + n >= rank) {
      const lo = lowerBound(bucket)
      return lo + ((rank - below) / n) * (upperBound(bucket) - lo)
    }
    below += n
  }
  return upperBound(HEALTH_BUCKETS - 1)
}

/** Counts older than this many windows are dropped unsent: the decision on them has passed. */
const KEPT_WINDOWS = 5
/** At most this many concerts and windows are kept between flushes. */
const MAX_ENTRIES = 10_000

/**
 * This process's record of how its holds and payments answer, per concert and window: what
 * adaptive admission steers by. A hold or payment runs through `observe`; the admission loop takes
 * the counts (`drain`) and adds them to the store, where every process's counts meet. Only
 * concerts that had answers are kept, so an idle deployment sends nothing.
 *
 * An answer is a success or a refusal of the booking itself (409: a seat taken, a limit, an
 * expired hold); a 5xx or an unexpected error is a failure; other refusals (400, 401, 403, 404)
 * never reached the booking and are not counted.
 */
export class BookingHealth {
  // A capped Map, not Generations: dropping a generation would lose answers already counted, whereas at the cap only a concert not yet kept goes uncounted until the next drain empties it.
  #entries = new Map<string, HealthEntry>()

  constructor(private readonly clock: Clock) {}

  /**
   * Runs one hold or payment of a concert (none known: not counted) and counts how it answered;
   * one that `serves` (a payment) and succeeds is also counted as a purchase done.
   */
  async observe<T>(concertId: string | undefined, run: () => Promise<T>, serves = false): Promise<T> {
    const started = performance.now()
    try {
      const result = await run()
      if (concertId !== undefined) this.record(concertId, performance.now() - started, false, serves)
      return result
    } catch (err) {
      const status = err instanceof AppError ? err.status : 500
      if (concertId !== undefined && (status >= 500 || status === 409)) {
        this.record(concertId, performance.now() - started, status >= 500)
      }
      throw err
    }
  }

  /** Counts one answer of a concert's booking side, of this latency, at the clock's window. */
  record(concertId: string, latencyMs: number, failed: boolean, served = false): void {
    const entry = this.#entryOf(concertId, Math.floor(this.clock.now() / ADAPTIVE_WINDOW_MS))
    if (!entry) return
    entry.counts.buckets[bucketOf(latencyMs)]!++
    if (failed) entry.counts.errors++
    if (served) entry.counts.served++
  }

  /** The counts since the last drain, recent windows only; this process starts counting afresh. */
  drain(): HealthEntry[] {
    const oldest = Math.floor(this.clock.now() / ADAPTIVE_WINDOW_MS) - KEPT_WINDOWS
    const entries = [...this.#entries.values()].filter((e) => e.window >= oldest)
    this.#entries = new Map()
    return entries
  }

  /** Gives back counts the store did not take, to be sent with the next drain. */
  restore(entries: HealthEntry[]): void {
    for (const entry of entries) {
      const kept = this.#entryOf(entry.concertId, entry.window)
      if (!kept) continue
      for (let b = 0; b < HEALTH_BUCKETS; b++) kept.counts.buckets[b]! += entry.counts.buckets[b]!
      kept.counts.errors += entry.counts.errors
      kept.counts.served += entry.counts.served
    }
  }

  /** The counts of a concert and window, new ones empty; none once MAX_ENTRIES are kept. */
  #entryOf(concertId: string, window: number): HealthEntry | undefined {
    const key = `${concertId}\u0000${window}`
    let entry = this.#entries.get(key)
    if (!entry && this.#entries.size < MAX_ENTRIES) {
      entry = { concertId, window, counts: emptyCounts() }
      this.#entries.set(key, entry)
    }
    return entry
  }
}
