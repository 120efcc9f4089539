/**
 * Adaptive admission: the law that sets a concert's admission rate from the health of its booking
 * side. Pure: a window's signal and the current rate in, the next rate and its reason out. The
 * admission loop gathers the signal (shared by all processes through the store) and applies the
 * decision; this module knows nothing of either, so its law is tested with a moved clock alone.
 *
 * The law follows Netflix's concurrency-limits Gradient2 and Envoy's adaptive concurrency: the
 * gradient `target / p90` says how far the latency is from the target. Above the target the rate
 * shrinks in proportion; well under it the rate grows, faster the more headroom there is; errors
 * halve it at once. Both moves are smoothed and bounded per window, and a band just under the
 * target holds the rate still, so a backend at its capacity sees a steady rate, not a saw.
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
  /** Fans in line at the end of the window. */
  waiting: number
  /**
   * The share of what admitted fans were given that they use (0–1): the admission loop counts the
   * window's admissions over the slots its ticks offered (service.ts, `signalOf`).
   */
  slotUse: number
}

type AdaptiveReason = 'errors' | 'over-target' | 'near-target' | 'headroom' | 'line-empty' | 'slots-unused' | 'at-max' | 'at-min'

export interface AdaptiveDecision {
  admitPerTick: number
  reason: AdaptiveReason
  latencyP90Ms: number | null
  /** The share of holds and payments that failed in the window (0–1). */
  errorRate: number
}

/** An error share at or above this halves the rate at once (a few stray failures do not). */
const ERROR_SHARE = 0.01
/** Just under the target the rate holds: p90 between this share of the target and the target. */
const HOLD_BAND = 0.8
/** How much of the gradient's suggestion one window follows (Gradient2's smoothing). */
const SMOOTHING = 0.5
/** The gradient's bounds: one window at most halves the rate or grows it by half. */
const MIN_GRADIENT = 0
const MAX_GRADIENT = 2

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value))

/** The next admission rate of a concert, from its current rate and the last window's signal. */
export function decide(current: number, signal: HealthSignal, bounds: AdaptiveBounds): AdaptiveDecision {
  const { minAdmitPerTick: min, maxAdmitPerTick: max, targetLatencyMs: target } = bounds
  const rate = clamp(Math.round(current), min, max)
  const errorRate = signal.requests > 0 ? signal.errors / signal.requests : 0
  const p90 = signal.latencyP90Ms
  const answer = (admitPerTick: number, reason: AdaptiveReason): AdaptiveDecision => ({
    admitPerTick: clamp(admitPerTick, min, max),
    reason,
    latencyP90Ms: p90 ?? null,
    errorRate,
  })

  if (errorRate >= ERROR_SHARE) return answer(Math.floor(rate / 2), rate > min ? 'errors' : 'at-min')
  const gradient = p90 === undefined || p90 <= 0 ? MAX_GRADIENT : clamp(target / p90, MIN_GRADIENT, MAX_GRADIENT)
  const step = 1 + (gradient - 1) * SMOOTHING
  if (p90 !== undefined && p90 > target) {
    // At least one fewer a tick, so a rate of a few still comes down.
    return answer(Math.min(rate - 1, Math.floor(rate * step)), rate > min ? 'over-target' : 'at-min')
  }
  // Growing is only worth it when fans wait and the admitted use what they got.
  if (signal.waiting === 0) return answer(rate, 'line-empty')
  if (signal.slotUse < 0.5) return answer(rate, 'slots-unused')
  if (p90 !== undefined && p90 >= target * HOLD_BAND) return answer(rate, 'near-target')
  if (rate >= max) return answer(rate, 'at-max')
  return answer(Math.max(rate + 1, Math.floor(rate * step)), 'headroom')
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
    case 'near-target':
      return `${p90}, just under the ${target}: holding at ${to}`
    case 'headroom':
      return `${p90}, under the ${target}: up to ${to}`
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
