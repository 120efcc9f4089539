import type { QueueSettings } from './settings.js'

/** How far back "the last minute's admissions" reach: the observed rate and the operators' figures. */
export const RECENT_WINDOW_MS = 60_000

/**
 * The times a store step applies at `now` under a concert's settings, in epoch milliseconds
 * (durations in milliseconds): the one place where the settings' seconds become the stores' times.
 */
export interface Deadlines {
  now: number
  /** A waiting entry last seen at or before this has lapsed (`waitingIdleS`). */
  staleBefore: number
  /** How long an admission lasts unused (`activeIdleS`), and at the most (`activeMaxS`). */
  activeIdleMs: number
  activeMaxMs: number
  /** An admission made now ends at `admittedUntil` unless used, and at `admittedMaxUntil` whatever happens. */
  admittedUntil: number
  admittedMaxUntil: number
  /** The last minute's admissions are those after this (and up to now). */
  recentSince: number
}

export function deadlines(now: number, s: QueueSettings): Deadlines {
  const activeIdleMs = s.activeIdleS * 1000
  const activeMaxMs = s.activeMaxS * 1000
  return {
    now,
    staleBefore: now - waitingIdleMs(s),
    activeIdleMs,
    activeMaxMs,
    admittedUntil: now + Math.min(activeIdleMs, activeMaxMs),
    admittedMaxUntil: now + activeMaxMs,
    recentSince: recentSince(now),
  }
}

/** How long a waiting entry may go without polling before it lapses. */
export const waitingIdleMs = (s: QueueSettings) => s.waitingIdleS * 1000

/** Where the last minute's admissions start, for a step that needs no settings. */
export const recentSince = (now: number) => now - RECENT_WINDOW_MS
