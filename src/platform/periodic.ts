/**
 * A background task run again `periodMs()` after each run ends: runs never overlap, a failure is
 * logged and the next run still comes, and `stop` waits for a run in flight.
 */
export class Periodic {
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopped = true

  constructor(
    private readonly periodMs: () => number,
    private readonly run: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

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
