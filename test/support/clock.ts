import type { Clock } from '../../src/platform/clock.js'

/** A clock the test moves by hand: TTLs and expiries pass without sleeping. */
export class ManualClock implements Clock {
  constructor(private ms = Date.parse('2030-01-01T00:00:00Z')) {}
  now() {
    return this.ms
  }
  advance(ms: number) {
    this.ms += ms
  }
  advanceSeconds(s: number) {
    this.ms += s * 1000
  }
}
