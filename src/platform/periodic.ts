import type { App } from './http/types.js'

/**
 * A background task run again `periodMs()` after each run ends: runs never overlap, a failure is
 * logged and the next run still comes, and `stop` waits for a run in flight.
 */
class Periodic {
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopped = true

  private readonly periodMs: () => number
  private readonly run: () => Promise<unknown>
  private readonly onError: (err: unknown) => void

  constructor(loop: { periodMs: () => number; run: () => Promise<unknown>; onError: (err: unknown) => void }) {
    this.periodMs = loop.periodMs
    this.run = loop.run
    this.onError = loop.onError
  }

  start() {
    this.#stopped = false
    this.schedule()
  }

  async stop() {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }

  private schedule() {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#running = this.run()
        .then(() => undefined, this.onError)
        .finally(() => {
          this.#running = undefined
          this.schedule()
        })
    }, this.periodMs())
  }
}

/** A background loop: what it runs, how long after each run the next one starts, and what a failure logs. */
export interface Loop {
  periodMs: () => number
  run: () => Promise<unknown>
  /** Logged as a warning with the error when a run fails, e.g. "admission tick failed". */
  failure: string
}

/** Something that tidies what it owns now and then (never needed for correctness). */
export interface Sweeper {
  sweep(): Promise<unknown>
}

/** One loop that runs every sweeper in turn. */
export const housekeeping = (sweepers: Sweeper[], periodMs: number): Loop => ({
  periodMs: () => periodMs,
  run: async () => {
    for (const sweeper of sweepers) await sweeper.sweep()
  },
  failure: 'housekeeping failed',
})

/**
 * Runs the loops from when the app is ready (unless `start` is false: tests with a hand-moved
 * clock drive them) and stops them when it closes, waiting for runs in flight.
 */
export function installLoops(app: App, loops: Loop[], { start }: { start: boolean }) {
  const periodics = loops.map(
    ({ periodMs, run, failure }) => new Periodic({ periodMs, run, onError: (err) => app.log.warn({ err }, failure) }),
  )
  if (start) {
    app.addHook('onReady', async () => {
      for (const periodic of periodics) periodic.start()
    })
  }
  app.addHook('preClose', async () => {
    await Promise.all(periodics.map((p) => p.stop()))
  })
}
