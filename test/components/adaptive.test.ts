import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/platform/errors.js'
import {
  ADAPTIVE_WINDOW_MS,
  type AdaptiveBounds,
  type AdaptiveDecision,
  decide,
  type HealthSignal,
  describe as words,
} from '../../src/queue/adaptive.js'
import { answered, BookingHealth, emptyCounts, latencyP90 } from '../../src/queue/booking-health.js'
import { ManualClock } from '../support/clock.js'

const bounds: AdaptiveBounds = { minAdmitPerTick: 2, maxAdmitPerTick: 400, targetLatencyMs: 100 }

/**
 * A booking side with a capacity: its p90 is a queue's, `base / (1 − load)`, so it is flat while the
 * load is light and climbs steeply as the rate nears the capacity; `extraMs` is a slow network or
 * disk on top. Every admitted fan buys, so it serves the rate up to its capacity. Fans wait and use
 * their slots throughout. The signal is the rate's at once: no lag (see `laggedSale` for one).
 */
function backend({
  capacity,
  baseMs = 20,
  extraMs = 0,
  errorShare = 0,
}: {
  capacity: number
  baseMs?: number
  extraMs?: number
  errorShare?: number
}) {
  return (rate: number): HealthSignal => {
    const load = Math.min(rate / capacity, 0.98)
    return {
      requests: 500,
      errors: Math.round(500 * errorShare),
      latencyP90Ms: baseMs / (1 - load) + extraMs,
      servedPerTick: Math.min(rate, capacity),
      waiting: 10_000,
      slotUse: 0.9,
    }
  }
}

/**
 * A sale as the service sees it: fans admitted in one window book `lag` windows later (they book on
 * their next poll, and a window is decided in the middle of the next); the booking side serves
 * `capacity` purchases a tick, the rest wait in its backlog, and each waits behind the backlog
 * ahead of it, so the p90 is the base latency plus the backlog's wait.
 */
function laggedSale({
  capacity,
  lag = 2,
  baseMs = 20,
  tickMs = 1000,
}: {
  capacity: number
  lag?: number
  baseMs?: number
  tickMs?: number
}) {
  const ticksPerWindow = ADAPTIVE_WINDOW_MS / tickMs
  const admitted: number[] = new Array(lag).fill(0)
  let backlog = 0
  return (rate: number): HealthSignal => {
    admitted.push(rate)
    backlog += admitted.shift()! * ticksPerWindow
    const perWindow = capacity * ticksPerWindow
    const load = Math.min(backlog / perWindow, 0.95)
    const served = Math.min(backlog, perWindow)
    backlog -= served
    // Queueing within the window, and the wait behind the backlog left for the next.
    const waitMs = baseMs / (1 - load) - baseMs + (backlog / perWindow) * ADAPTIVE_WINDOW_MS
    return {
      requests: 2 * served,
      errors: 0,
      latencyP90Ms: baseMs + waitMs,
      servedPerTick: served / ticksPerWindow,
      waiting: 10_000,
      slotUse: 1,
    }
  }
}

/** Runs the controller window after window on a moved clock, keeping its memory as the service does; returns every decision. */
function run(start: number, windows: number, signalOf: (rate: number) => HealthSignal, clock = new ManualClock()) {
  const decisions: (AdaptiveDecision & { at: number })[] = []
  let rate = start
  let cutWindow: number | undefined
  let ceiling: number | undefined
  let lastP90Ms: number | undefined
  for (let i = 0; i < windows; i++) {
    clock.advance(ADAPTIVE_WINDOW_MS)
    const windowsSinceCut = cutWindow === undefined ? undefined : i - cutWindow
    const decision = decide(rate, signalOf(rate), bounds, { windowsSinceCut, ceiling, lastP90Ms })
    decisions.push({ ...decision, at: clock.now() })
    if (decision.cut) cutWindow = i
    ceiling = decision.ceiling ?? undefined
    lastP90Ms = decision.latencyP90Ms ?? undefined
    rate = decision.admitPerTick
  }
  return decisions
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length

describe('adaptive admission, the law', () => {
  it('when the backend is healthy at the maximum, then the rate stays at the maximum', () => {
    const decisions = run(bounds.maxAdmitPerTick, 60, backend({ capacity: 100_000 }))
    expect(new Set(decisions.map((d) => d.admitPerTick))).toEqual(new Set([bounds.maxAdmitPerTick]))
    expect(decisions.every((d) => d.reason === 'at-max')).toBe(true)
  })

  it('when the backend slows to a fraction of the rate, then the rate falls within three windows and is under the new capacity within 30 s, never by more than half a window', () => {
    const healthy = backend({ capacity: 100_000 })
    const before = run(bounds.maxAdmitPerTick, 5, healthy)
    expect(before.at(-1)!.admitPerTick).toBe(bounds.maxAdmitPerTick)
    // The slow backend: 200 ms more on every hold and payment, and 50 purchases a tick at most.
    const after = run(bounds.maxAdmitPerTick, 30, backend({ capacity: 50, extraMs: 200 }))
    expect(after.slice(0, 3).some((d) => d.admitPerTick < bounds.maxAdmitPerTick)).toBe(true)
    const under = after.findIndex((d) => d.admitPerTick <= 50)
    expect(under).toBeGreaterThan(0)
    expect((under + 1) * ADAPTIVE_WINDOW_MS).toBeLessThanOrEqual(30_000)
    for (let i = 1; i <= under; i++) {
      // Down by half at most, and between cuts it holds for the last cut to show.
      expect(after[i]!.admitPerTick).toBeGreaterThanOrEqual(Math.floor(after[i - 1]!.admitPerTick / 2))
      expect(after[i]!.admitPerTick).toBeLessThanOrEqual(after[i - 1]!.admitPerTick)
      expect(after[i]!.reason).toMatch(/^(over-target|settling)$/)
    }
  })

  it('when holds and payments fail, then the rate halves at once', () => {
    const decision = decide(300, backend({ capacity: 100_000, errorShare: 0.05 })(300), bounds)
    expect(decision).toMatchObject({ admitPerTick: 150, reason: 'errors', errorRate: 0.05, cut: true })
    expect(words(decision, bounds)).toBe('5% of holds and payments failed: halved to 150 a tick')
    // A stray failure in a busy window is not an outage.
    expect(decide(300, { ...backend({ capacity: 100_000 })(300), errors: 1 }, bounds).admitPerTick).toBeGreaterThanOrEqual(300)
    // Errors halve even while an earlier cut settles.
    expect(decide(300, backend({ capacity: 100_000, errorShare: 0.05 })(300), bounds, { windowsSinceCut: 1 }).admitPerTick).toBe(150)
  })

  it('when the backend recovers with the rate at its minimum, then it is back at the maximum within a minute', () => {
    const clock = new ManualClock()
    const start = clock.now()
    const decisions = run(bounds.minAdmitPerTick, 60, backend({ capacity: 100_000 }), clock)
    const atMax = decisions.find((d) => d.admitPerTick === bounds.maxAdmitPerTick)
    expect(atMax).toBeDefined()
    expect(atMax!.at - start).toBeLessThanOrEqual(60_000)
    // Growth is bounded: never more than half again in one window.
    for (let i = 1; i < decisions.length; i++) {
      expect(decisions[i]!.admitPerTick).toBeLessThanOrEqual(
        Math.max(decisions[i - 1]!.admitPerTick + 1, decisions[i - 1]!.admitPerTick * 1.5),
      )
    }
  })

  it('when the backend recovers from a slow spell, then the rate is back at the maximum within a minute, past the ceiling the slow spell left', () => {
    let slow = true
    const signal = (rate: number) => (slow ? backend({ capacity: 50, extraMs: 200 }) : backend({ capacity: 100_000 }))(rate)
    const clock = new ManualClock()
    const during = run(bounds.maxAdmitPerTick, 40, signal, clock)
    expect(during.at(-1)!.admitPerTick).toBeLessThanOrEqual(50)
    slow = false
    const recovered = clock.now()
    const after = run(during.at(-1)!.admitPerTick, 40, signal, clock)
    const atMax = after.find((d) => d.admitPerTick === bounds.maxAdmitPerTick)
    expect(atMax).toBeDefined()
    expect(atMax!.at - recovered).toBeLessThanOrEqual(60_000)
  })

  it.each([60, 150, 333])(
    'when the backend saturates at %i a tick, then the rate settles within a tenth of its mean instead of sawing',
    (capacity) => {
      const decisions = run(bounds.maxAdmitPerTick, 120, backend({ capacity }))
      const settled = decisions.slice(60).map((d) => d.admitPerTick)
      const m = mean(settled)
      expect(Math.max(...settled)).toBeLessThanOrEqual(m * 1.1)
      expect(Math.min(...settled)).toBeGreaterThanOrEqual(m * 0.9)
      // And it settles where the latency is under the target with little to spare, not far under it.
      const p90 = backend({ capacity })(Math.round(m)).latencyP90Ms!
      expect(p90).toBeGreaterThanOrEqual(bounds.targetLatencyMs * 0.5)
      expect(p90).toBeLessThanOrEqual(bounds.targetLatencyMs)
    },
  )

  it.each([60, 150, 333])(
    'when the signal lags the rate by two windows and the backend serves %i a tick, then from the minimum the rate settles within a minute under the target, and neither slides back nor saws',
    (capacity) => {
      const signal = laggedSale({ capacity })
      const signals: HealthSignal[] = []
      const decisions = run(bounds.minAdmitPerTick, 150, (rate) => {
        signals.push(signal(rate))
        return signals.at(-1)!
      })
      const later = decisions.slice(30)
      const rates = later.map((d) => d.admitPerTick)
      const m = mean(rates)
      expect(Math.max(...rates)).toBeLessThanOrEqual(m * 1.1)
      expect(Math.min(...rates)).toBeGreaterThanOrEqual(m * 0.9)
      // Settled under the target with little to spare, serving what it admits.
      for (const s of signals.slice(35)) {
        expect(s.latencyP90Ms!).toBeGreaterThanOrEqual(bounds.targetLatencyMs * 0.5)
        expect(s.latencyP90Ms!).toBeLessThanOrEqual(bounds.targetLatencyMs)
      }
      expect(mean(later.map((d) => d.servedPerTick))).toBeGreaterThanOrEqual(m * 0.95)
    },
  )

  it('when nobody waits or the admitted fans leave their slots unused, then the rate does not grow', () => {
    const healthy = backend({ capacity: 100_000 })(50)
    expect(decide(50, { ...healthy, waiting: 0 }, bounds)).toMatchObject({ admitPerTick: 50, reason: 'line-empty' })
    expect(decide(50, { ...healthy, slotUse: 0.3 }, bounds)).toMatchObject({ admitPerTick: 50, reason: 'slots-unused' })
    // But a backend over its target still brings the rate down.
    expect(decide(50, { ...healthy, waiting: 0, latencyP90Ms: 300 }, bounds).admitPerTick).toBeLessThan(50)
    expect(decide(50, healthy, bounds)).toMatchObject({ reason: 'headroom' })
  })

  it('when the rate was cut, then it holds two windows for the cut to show, and near the ceiling it grows by a tenth at most', () => {
    const healthy = backend({ capacity: 100_000 })(50)
    expect(decide(50, healthy, bounds, { windowsSinceCut: 1, ceiling: 60 })).toMatchObject({ admitPerTick: 50, reason: 'settling' })
    expect(decide(50, healthy, bounds, { windowsSinceCut: 2, ceiling: 60 })).toMatchObject({ admitPerTick: 50, reason: 'settling' })
    expect(decide(50, healthy, bounds, { windowsSinceCut: 3, ceiling: 60 })).toMatchObject({ admitPerTick: 55, reason: 'probing' })
    // Far under the ceiling, or long after the cut, the gradient's step.
    expect(decide(50, healthy, bounds, { windowsSinceCut: 3, ceiling: 200 })).toMatchObject({ admitPerTick: 75, reason: 'headroom' })
    expect(decide(50, healthy, bounds, { windowsSinceCut: 30, ceiling: 60 })).toMatchObject({ admitPerTick: 75, reason: 'headroom' })
    // A p90 half again the last window's, past 15% of the target, holds the growth.
    expect(decide(50, { ...healthy, latencyP90Ms: 40 }, bounds, { lastP90Ms: 25 })).toMatchObject({ admitPerTick: 50, reason: 'rising' })
    expect(decide(50, { ...healthy, latencyP90Ms: 40 }, bounds, { lastP90Ms: 30 })).toMatchObject({ reason: 'headroom' })
    expect(decide(50, { ...healthy, latencyP90Ms: 12 }, bounds, { lastP90Ms: 5 })).toMatchObject({ reason: 'headroom' })
    // A cut over the target goes no higher than nine tenths of what was served.
    expect(decide(200, { ...healthy, latencyP90Ms: 150, servedPerTick: 150 }, bounds)).toMatchObject({
      admitPerTick: 135,
      reason: 'over-target',
      cut: true,
      ceiling: 150,
    })
  })

  it('whatever the signal and memory, then the rate stays within the bounds and moves at most half down or half up a window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: bounds.minAdmitPerTick, max: bounds.maxAdmitPerTick }),
        fc.record({
          requests: fc.nat({ max: 10_000 }),
          errors: fc.nat({ max: 10_000 }),
          latencyP90Ms: fc.option(fc.double({ min: 0, max: 100_000, noNaN: true }), { nil: undefined }),
          servedPerTick: fc.double({ min: 0, max: 10_000, noNaN: true }),
          waiting: fc.nat(),
          slotUse: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        fc.record(
          {
            windowsSinceCut: fc.nat({ max: 40 }),
            ceiling: fc.double({ min: 0, max: 10_000, noNaN: true }),
            lastP90Ms: fc.double({ min: 0, max: 100_000, noNaN: true }),
          },
          { requiredKeys: [] },
        ),
        (rate, raw, memory) => {
          const signal = { ...raw, errors: Math.min(raw.errors, raw.requests) }
          const { admitPerTick } = decide(rate, signal, bounds, memory)
          expect(Number.isInteger(admitPerTick)).toBe(true)
          expect(admitPerTick).toBeGreaterThanOrEqual(bounds.minAdmitPerTick)
          expect(admitPerTick).toBeLessThanOrEqual(bounds.maxAdmitPerTick)
          expect(admitPerTick).toBeGreaterThanOrEqual(Math.min(rate, Math.floor(rate / 2)))
          expect(admitPerTick).toBeLessThanOrEqual(Math.max(rate + 1, Math.floor(rate * 1.5)))
        },
      ),
    )
  })
})

describe('adaptive admission, the signal a process records', () => {
  const failWith = (error: unknown) => () => Promise.reject(error)

  it('when holds answer, then each counts in its latency bucket, and the p90 read back is within a bucket of the truth', () => {
    const clock = new ManualClock()
    const health = new BookingHealth(clock)
    // 100 answers: 1 ms to 100 ms, one each; the true p90 is 90 ms.
    for (let ms = 1; ms <= 100; ms++) health.record('con_a', ms, false)
    const [entry] = health.drain()
    expect(entry).toMatchObject({ concertId: 'con_a', window: Math.floor(clock.now() / ADAPTIVE_WINDOW_MS) })
    expect(answered(entry!.counts)).toBe(100)
    const p90 = latencyP90(entry!.counts)!
    expect(p90).toBeGreaterThan(90 / 1.19)
    expect(p90).toBeLessThan(90 * 1.19)
    expect(latencyP90(emptyCounts())).toBeUndefined()
    // Drained: nothing is sent twice.
    expect(health.drain()).toEqual([])
  })

  it('when answers come in two windows, then they are counted apart, and old ones are not sent', () => {
    const clock = new ManualClock()
    const health = new BookingHealth(clock)
    health.record('con_a', 5, false)
    clock.advance(ADAPTIVE_WINDOW_MS)
    health.record('con_a', 5, true)
    expect(health.drain().map((e) => [e.window - Math.floor(clock.now() / ADAPTIVE_WINDOW_MS), e.counts.errors])).toEqual([
      [-1, 0],
      [0, 1],
    ])
    health.record('con_b', 5, false)
    clock.advance(10 * ADAPTIVE_WINDOW_MS)
    expect(health.drain()).toEqual([])
  })

  it('when the store does not take the counts, then they are sent with the next ones', () => {
    const health = new BookingHealth(new ManualClock())
    health.record('con_a', 5, true)
    const unsent = health.drain()
    health.record('con_a', 5, false)
    health.restore(unsent)
    const [entry] = health.drain()
    expect(answered(entry!.counts)).toBe(2)
    expect(entry!.counts.errors).toBe(1)
  })

  it('when holds and payments succeed, are refused, or fail, then 5xx and unexpected errors fail, a 409 answers, other refusals are not counted', async () => {
    const health = new BookingHealth(new ManualClock())
    expect(await health.observe('con_a', async () => 'held')).toBe('held')
    await expect(health.observe('con_a', failWith(new AppError('SEAT_UNAVAILABLE', 'taken')))).rejects.toThrow('taken')
    await expect(health.observe('con_a', failWith(new AppError('DEPENDENCY_UNAVAILABLE', 'down')))).rejects.toThrow('down')
    await expect(health.observe('con_a', failWith(new Error('boom')))).rejects.toThrow('boom')
    await expect(health.observe('con_a', failWith(new AppError('QUEUE_NOT_ADMITTED', 'wait')))).rejects.toThrow('wait')
    await expect(health.observe('con_a', failWith(new AppError('NOT_FOUND', 'no')))).rejects.toThrow('no')
    await expect(health.observe(undefined, failWith(new Error('unknown concert')))).rejects.toThrow()
    const [entry] = health.drain()
    expect(answered(entry!.counts)).toBe(4)
    expect(entry!.counts.errors).toBe(2)
  })
})
