/**
 * Adaptive admission: the law that sets a concert's admission rate from the health of its booking
 * side. Pure: a window's signal and the current rate in, the next rate and its reason out. The
 * admission loop gathers the signal (shared by all processes through the store) and applies the
 * decision; this module knows nothing of either, so its law is tested with a moved clock alone.
 *
 * The law follows Netflix's concurrency-limits Gradient2 and Envoy's adaptive concurrency: the
 * gradient `target / p90` says how far the latency is from the target. Above the target the rate
 * shrinks in proportion; well under it the rate grows, faster the more headroom there is; errors
 * halve it at once. Both moves are smoothed and bounded per window, and a band under the target
 * holds the rate still, so a backend at its capacity sees a steady rate, not a saw.
 *
 * The signal lags the rate: fans admitted now book on their next poll, and a window is decided in
 * the middle of the next one. So a cut is followed by SETTLE_WINDOWS of holding (else the backlog
 * of one overshoot is cut for again and again, down to the minimum), a cut goes no higher than the
 * purchases the window served (what the booking side can take, whatever the rate that overshot
 * it), near that ceiling the rate grows by small steps (as TCP's congestion avoidance after its
 * slow start), where far under it, it grows by the gradient; and a p90 that rises fast from one
 * window to the next stops the growth before the backlog it foretells arrives.
 */

/** The length of one window of signal: each window ends in one decision. */
export const ADAPTIVE_WINDOW_MS = 2000

export interface AdaptiveBounds {
  minAdmitPerTick: number
  maxAdmitPerTick: number
  /** The p90 latency of holds and payments the rate steers to. */
  targetLatencyMs: number
}

/** What the booking side of one concert did over the last window, across all processes. */
export interface HealthSignal {
  /** Holds and payments answered in the window. */
  requests: number
  /** Of them, those answered with a 5xx (503 included). */
  errors: number
  /** Their 90th-percentile latency; undefined when there were none. */
  latencyP90Ms: number | undefined
  /** Purchases done in the window (payments that succeeded), per tick of admission: the rate the booking side served. */
  servedPerTick: number
  /** Fans in line at the end of the window. */
  waiting: number
  /**
   * The share of what admitted fans were given that they use (0–1): the admission loop counts the
   * window's admissions over the slots its ticks offered (service.ts, `signalOf`).
   */
  slotUse: number
}

/** What the law keeps of its earlier decisions (in the store, with the last decision). */
export interface AdaptiveMemory {
  /** Windows since the last cut (for errors or over the target); undefined: none lately. */
  windowsSinceCut?: number
  /** What the booking side served, a tick, when the latency last went over the target or it failed. */
  ceiling?: number
  /** The p90 the last decision was made on. */
  lastP90Ms?: number
}

type AdaptiveReason =
  | 'errors'
  | 'over-target'
  | 'settling'
  | 'rising'
  | 'near-target'
  | 'headroom'
  | 'probing'
  | 'line-empty'
  | 'slots-unused'
  | 'at-max'
  | 'at-min'

export interface AdaptiveDecision {
  admitPerTick: number
  reason: AdaptiveReason
  latencyP90Ms: number | null
  /** The share of holds and payments that failed in the window (0–1). */
  errorRate: number
  /** Purchases done in the window, a tick. */
  servedPerTick: number
  /** Whether this decision cut the rate (for errors or over the target). */
  cut: boolean
  /** The ceiling the law keeps from now on (`AdaptiveMemory`). */
  ceiling: number | null
}

/** An error share at or above this halves the rate at once (a few stray failures do not). */
const ERROR_SHARE = 0.01
/** Under the target the rate holds: p90 between this share of the target and the target, so the slowest holds stay under it too. */
const HOLD_BAND = 0.5
/** How much of the gradient's suggestion one window follows (Gradient2's smoothing). */
const SMOOTHING = 0.5
/** The gradient's bounds: one window at most halves the rate or grows it by half. */
const MIN_GRADIENT = 0
const MAX_GRADIENT = 2
/**
 * After a cut the rate holds this many windows: admitted fans book on their next poll and a window
 * is decided in the middle of the next one, so a cut shows in the signal two windows later; cutting
 * again before would cut for the same backlog twice.
 */
const SETTLE_WINDOWS = 2
/** A cut over the target goes down to this share of what the booking side served, so the backlog drains. */
const CUT_TO_SERVED = 0.9
/** Near the ceiling the rate grows by at most this step a window. */
const PROBE_STEP = 1.1
/** Within this share of the ceiling the rate probes; further under it, it grows by the gradient. */
const NEAR_CEILING = 0.8
/** A ceiling is forgotten this many windows after its cut: the booking side may have grown since. */
const CEILING_WINDOWS = 15
/**
 * A p90 this many times the last window's, and past this share of the target, is a backlog
 * building: the rate holds rather than grow into it (with the lag, growth would overshoot).
 */
const RISING = 1.5
const RISING_FROM = 0.15

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value))

/** The next admission rate of a concert, from its current rate, the last window's signal and what the law kept. */
export function decide(current: number, signal: HealthSignal, bounds: AdaptiveBounds, memory: AdaptiveMemory = {}): AdaptiveDecision {
  const { minAdmitPerTick: min, maxAdmitPerTick: max, targetLatencyMs: target } = bounds
  const rate = clamp(Math.round(current), min, max)
  const errorRate = signal.requests > 0 ? signal.errors / signal.requests : 0
  const p90 = signal.latencyP90Ms
  const served = signal.servedPerTick
  const since = memory.windowsSinceCut
  const ceiling = since !== undefined && since < CEILING_WINDOWS ? memory.ceiling : undefined
  const answer = (admitPerTick: number, reason: AdaptiveReason, cut = false): AdaptiveDecision => ({
    admitPerTick: clamp(admitPerTick, min, max),
    reason,
    latencyP90Ms: p90 ?? null,
    errorRate,
    servedPerTick: served,
    cut,
    ceiling: cut ? (served > 0 ? served : clamp(admitPerTick, min, max)) : (ceiling ?? null),
  })

  if (errorRate >= ERROR_SHARE) return answer(Math.floor(rate / 2), rate > min ? 'errors' : 'at-min', rate > min)
  // A cut shows in the signal two windows on; until then the backlog it answers still shows.
  if (since !== undefined && since <= SETTLE_WINDOWS) return answer(rate, 'settling')
  const gradient = p90 === undefined || p90 <= 0 ? MAX_GRADIENT : clamp(target / p90, MIN_GRADIENT, MAX_GRADIENT)
  const step = 1 + (gradient - 1) * SMOOTHING
  if (p90 !== undefined && p90 > target) {
    // In proportion, and at least one fewer a tick, so a rate of a few still comes down; and no
    // higher than what was served, so the backlog drains; but by half at most.
    const proportional = Math.min(rate - 1, Math.floor(rate * step))
    const drained = served > 0 ? Math.min(proportional, Math.ceil(served * CUT_TO_SERVED)) : proportional
    return answer(Math.max(Math.floor(rate / 2), drained), rate > min ? 'over-target' : 'at-min', rate > min)
  }
  // Growing is only worth it when fans wait and the admitted use what they got.
  if (signal.waiting === 0) return answer(rate, 'line-empty')
  if (signal.slotUse < 0.5) return answer(rate, 'slots-unused')
  if (p90 !== undefined && p90 >= target * HOLD_BAND) return answer(rate, 'near-target')
  if (rate >= max) return answer(rate, 'at-max')
  const last = memory.lastP90Ms
  if (p90 !== undefined && last !== undefined && p90 > last * RISING && p90 > target * RISING_FROM) return answer(rate, 'rising')
  const grown = Math.max(rate + 1, Math.floor(rate * step))
  // Near where the booking side last gave out, a small step at a time.
  if (ceiling !== undefined && grown >= ceiling * NEAR_CEILING) {
    return answer(Math.max(rate + 1, Math.min(grown, Math.floor(rate * PROBE_STEP))), 'probing')
  }
  return answer(grown, 'headroom')
}

/** The decision in words, as the console and the queue figures show it. */
export function describe(decision: AdaptiveDecision, bounds: AdaptiveBounds): string {
  const p90 = decision.latencyP90Ms === null ? 'no holds or payments' : `p90 ${Math.round(decision.latencyP90Ms)} ms`
  const target = `${bounds.targetLatencyMs} ms target`
  const to = `${decision.admitPerTick} a tick`
  switch (decision.reason) {
    case 'errors':
      return `${Math.round(decision.errorRate * 100)}% of holds and payments failed: halved to ${to}`
    case 'over-target':
      return `${p90} over the ${target}: down to ${to}`
    case 'settling':
      return `${p90}: holding at ${to} until the last cut shows`
    case 'rising':
      return `${p90}, under the ${target} but rising fast: holding at ${to}`
    case 'near-target':
      return `${p90}, under the ${target} with little to spare: holding at ${to}`
    case 'headroom':
      return `${p90}, under the ${target}: up to ${to}`
    case 'probing':
      return `${p90}, under the ${target}, near where it last gave out: a step up to ${to}`
    case 'line-empty':
      return `nobody waits: holding at ${to}`
    case 'slots-unused':
      return `admitted fans use under half of their slots: holding at ${to}`
    case 'at-max':
      return `${p90}, under the ${target}: at the maximum, ${to}`
    case 'at-min':
      return `${p90}${decision.errorRate > 0 ? `, ${Math.round(decision.errorRate * 100)}% failed` : ''}: at the minimum, ${to}`
  }
}
