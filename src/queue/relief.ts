import { Generations } from '../platform/generations.js'
import type { StatusCall } from './batched-store.js'
import { LineCopy } from './line-copy.js'
import type { QueueSettings } from './settings.js'

/**
 * A poll that could be this many seconds of admission from the front runs the status script: the
 * fans told to poll every second (the first 4 seconds) and one more second of admissions, which the
 * counts read at the last tick may not show yet.
 */
export const NEAR_FRONT_S = 5
/** The counts are trusted this long after they were read (a process reads them every tick, a quarter second at most). */
const READING_MAX_AGE_MS = 1000
/**
 * How far the clocks of two processes may differ: a join this much before a copy or a reading by
 * another process's clock may have been made after it. The order keys of arrivals are their
 * joins' times (QueueService.orderKey), so a join sorting ahead of a fan was made no later than
 * the fan's own.
 */
const CLOCK_MARGIN_MS = 1000
/** How long the join script keeps each second's count of joins (JOIN_SECONDS_KEPT in lua/includes/counts.lua). */
const JOIN_SECONDS_KEPT_MS = 600_000
/** A copy is taken again once per waiting idle limit, and at least this often, so its seconds of joins are still kept. */
const COPY_MAX_AGE_MS = 300_000
/** How old a process's copy of a line gets before it is taken again. */
export const lineCopyAgeMs = (waitingIdleS: number) => Math.min(waitingIdleS * 1000, COPY_MAX_AGE_MS)
/** Entries a slice of the copy takes: one script run each. */
export const COPY_SLICE = 10_000
/** Tokens found no longer in line that a process remembers per concert, at the most. */
const GONE_KEPT = 100_000
/** Heartbeats a script run carries at the most. */
export const BEATS_PER_RUN = 1000

/** What the scripts count of a line (lua/includes/counts.lua). */
interface LineCounts {
  /** Fans ever taken off the front: admitted, or found lapsed as their turn came. */
  front: number
  /** Fans who left the line otherwise (left, lapsed). */
  left: number
  /** Entries made with no arrival order (pre-queue joins, tokens put back), which may sort anywhere. */
  unordered: number
}

/** The counts and each recent second's joins, as a process read them at its last tick. */
export interface Reading {
  counts: LineCounts
  /** Second (ms / 1000) -> arrival-ordered joins made in it. */
  joinSeconds: Map<number, number>
  readAt: number
}

/**
 * A slice of a copy: its entries from `start` on were, in one step, `ahead` + their index from
 * `start` from the front, and the line's counts and each recent second's joins were these.
 */
export interface Slice {
  start: number
  ahead: number
  counts: LineCounts
  joinSeconds: Map<number, number>
}

/** A poll the copy answered: its token, to send as a heartbeat. */
type Beat = [tokenId: string, now: number, staleBefore: number]

/**
 * A copy of a concert's line taken in slices (lua/slice-3.lua): each slice knows, as of the step
 * that took it, how many waited ahead of it and the line's counts; the last slice ends the line.
 */
export class SlicedLine {
  constructor(
    readonly line: LineCopy,
    readonly slices: Slice[],
    /** Before the first slice was taken, by the clock of the poll that asked for the copy. */
    readonly takenAt: number,
  ) {}

  /**
   * A position never below the fan's true one, and the least the true one can be; undefined when
   * the copy and the counts cannot place the fan. From the fan's place when its slice was taken
   * (or, for a fan who joined after the copy, the line's length when its last slice was), less the
   * fans taken off the front since (admission takes the front), plus every entry since that may
   * sort ahead: the unordered ones, and the joins made since in the seconds up to the fan's own
   * (each second's count now less its count at the slice). The fans who left since are still
   * counted, and so are the joins of the fan's own second that sort behind it: the position is too
   * high by at most those, and the least it can be is the position less them.
   */
  place(call: StatusCall, reading: Reading): { position: number; least: number } | undefined {
    const { orderKey, joinedAt } = call.entry
    // The reading may miss joins of the fan's last second: the fan's own place comes exact from the join.
    if (joinedAt >= reading.readAt - CLOCK_MARGIN_MS) return undefined
    const index = this.line.indexOf(orderKey, call.tokenId)
    let ahead: number
    let slice: Slice
    if (index >= 0) {
      slice = this.sliceAt(index)
      ahead = slice.ahead + index - slice.start
    } else if (!this.line.covers(orderKey)) {
      slice = this.slices.at(-1)!
      ahead = slice.ahead + this.line.keys.length - slice.start
    } else {
      return undefined
    }
    const now = reading.counts
    const front = now.front - slice.counts.front
    const left = now.left - slice.counts.left
    const unordered = now.unordered - slice.counts.unordered
    // Counts that went back were lost with the line's data: the copy no longer matches the line.
    if (front < 0 || left < 0 || unordered < 0) return undefined
    let joins = 0
    let sameSecond = 0
    const own = Math.floor(joinedAt / 1000)
    for (let second = Math.floor((this.takenAt - CLOCK_MARGIN_MS) / 1000); second <= own; second++) {
      const since = Math.max(0, (reading.joinSeconds.get(second) ?? 0) - (slice.joinSeconds.get(second) ?? 0))
      joins += since
      if (second === own) sameSecond = since
    }
    const position = ahead + 1 - front + unordered + joins
    return { position, least: position - left - unordered - sameSecond }
  }

  private sliceAt(index: number): Slice {
    let lo = 0
    let hi = this.slices.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.slices[mid]!.start <= index) lo = mid
      else hi = mid - 1
    }
    return this.slices[lo]!
  }
}

/**
 * The places from the front within which a poll runs the status script: NEAR_FRONT_S seconds of
 * the tick's rate, paused or not (admission may resume at any moment). Under the cap strategy
 * every poll does: a slot freed by a payment goes to the next in line at once, so no rate bounds
 * how far the front moves between two readings of the counts.
 */
function nearFront(s: QueueSettings): number {
  return s.strategy === 'cap' ? Number.POSITIVE_INFINITY : (NEAR_FRONT_S * s.admitPerTick * 1000) / s.tickMs
}

interface ConcertRelief {
  reading?: Reading
  copy?: SlicedLine
  /** The polls answered from the copy since the last heartbeat run, by token. */
  beats: Map<string, Beat>
  /** Tokens a heartbeat found no longer in line: their next poll runs the status script, which says why. */
  gone: Set<string>
}

/**
 * The relief of a long line (docs/scaling.md#the-next-step-a-longer-line-on-one-shard): a process
 * answers the polls far from the front from its copy of the line, corrected by the counts it reads
 * each tick, and sends each of them to Redis as a heartbeat in one script run a tick; the polls
 * near the front, or that the copy cannot place, run the status script. This holds what one
 * process knows of each concert; RedisQueueStore runs the scripts.
 */
export class Relief {
  readonly #concerts = new Generations<ConcertRelief>(500)

  private of(concertId: string): ConcertRelief {
    let relief = this.#concerts.get(concertId)
    if (!relief) {
      relief = { beats: new Map(), gone: new Set() }
      this.#concerts.set(concertId, relief)
    }
    return relief
  }

  /**
   * The position of a poll answered from the copy, noted for the next heartbeat run; undefined when
   * the poll runs the status script (near the front, admitted, not placed, or no fresh counts).
   */
  answer(concertId: string, call: StatusCall): number | undefined {
    const relief = this.#concerts.get(concertId)
    const reading = relief?.reading
    const now = call.at.now
    if (!relief?.copy || !reading || now < reading.readAt || now - reading.readAt > READING_MAX_AGE_MS) return undefined
    if (relief.gone.has(call.tokenId)) {
      relief.gone.delete(call.tokenId)
      return undefined
    }
    const placed = relief.copy.place(call, reading)
    if (!placed || placed.position <= 0 || placed.least <= nearFront(call.settings)) return undefined
    relief.beats.set(call.tokenId, [call.tokenId, now, call.at.staleBefore])
    return placed.position
  }

  /** Whether a poll at `now` should have a new copy taken: fresh counts, and no copy or one past its age. */
  copyDue(concertId: string, now: number, s: QueueSettings): boolean {
    const relief = this.#concerts.get(concertId)
    if (!relief?.reading || now - relief.reading.readAt > READING_MAX_AGE_MS) return false
    const copy = relief.copy
    return !copy || now < copy.takenAt || now - copy.takenAt > lineCopyAgeMs(s.waitingIdleS)
  }

  copied(concertId: string, copy: SlicedLine) {
    const relief = this.of(concertId)
    relief.copy = copy
    // A fan no longer in line is in no new copy, which then places it by no other means.
    relief.gone.clear()
  }

  /** How many polls answered from the copy wait to be sent as heartbeats. */
  pendingBeats(concertId: string): number {
    return this.#concerts.get(concertId)?.beats.size ?? 0
  }

  /** The heartbeats noted since the last run, taken to be sent. */
  takeBeats(concertId: string): Beat[] {
    const relief = this.#concerts.get(concertId)
    if (!relief || relief.beats.size === 0) return []
    const beats = [...relief.beats.values()]
    relief.beats.clear()
    return beats
  }

  /** What a heartbeat run read: the counts, and the tokens no longer in line. */
  read(concertId: string, reading: Reading, gone: string[]) {
    const relief = this.of(concertId)
    // The seconds a copy counts from are kept JOIN_SECONDS_KEPT_MS: an older copy is of no use.
    if (relief.copy && reading.readAt - relief.copy.takenAt > JOIN_SECONDS_KEPT_MS - 2 * CLOCK_MARGIN_MS) relief.copy = undefined
    relief.reading = reading
    // Bounded: a token forgotten here is answered from the copy once more and found gone again.
    if (relief.gone.size > GONE_KEPT) relief.gone.clear()
    for (const token of gone) relief.gone.add(token)
  }
}

/** Each second's joins from a script's answer: {second, joins, second, joins, ...}. */
export function joinSecondsOf(pairs: string[]): Map<number, number> {
  const seconds = new Map<number, number>()
  for (let i = 0; i < pairs.length; i += 2) seconds.set(Number(pairs[i]), Number(pairs[i + 1]))
  return seconds
}

/** Builds a copy from its slices' answers (lua/slice-3.lua). */
export function sliced(answers: unknown[][], takenAt: number): SlicedLine {
  const keys: number[] = []
  const tokens: string[] = []
  const slices: Slice[] = []
  for (const answer of answers) {
    const [ahead, front, left, unordered, seconds] = answer as [number, number, number, number, string[]]
    slices.push({ start: tokens.length, ahead, counts: { front, left, unordered }, joinSeconds: joinSecondsOf(seconds) })
    for (let i = 5; i < answer.length; i += 2) {
      tokens.push(answer[i] as string)
      keys.push(Number(answer[i + 1]))
    }
  }
  return new SlicedLine(new LineCopy({ keys: Float64Array.from(keys), tokens, takenAt, ttlMs: COPY_MAX_AGE_MS }), slices, takenAt)
}
