interface Batch<In, Out> {
  inputs: In[]
  waiters: { resolve(value: Out): void; reject(err: unknown): void }[]
}

interface Lane<In, Out> {
  /** Calls not yet sent, in the order they were made. */
  queued: Batch<In, Out> | undefined
  inFlight: number
}

/**
 * Gathers concurrent calls and runs them as one batch per key, in the order they were made: a
 * crowd polling one concert costs one store round trip per batch, not one per poll. A batch is
 * sent at the end of the current event-loop turn, unless `maxInFlight` batches of its key are
 * still running: then it keeps gathering until one of them ends (group commit). A batch never
 * exceeds `maxBatch` calls; a failed batch fails each of its calls.
 */
export class Coalescer<In, Out> {
  readonly #lanes = new Map<string, Lane<In, Out>>()
  readonly #due = new Set<string>()
  #scheduled = false

  constructor(
    private readonly runBatch: (key: string, inputs: In[]) => Promise<Out[]>,
    private readonly options: { maxBatch?: number; maxInFlight?: number } = {},
  ) {}

  run(key: string, input: In): Promise<Out> {
    let lane = this.#lanes.get(key)
    if (!lane) {
      lane = { queued: undefined, inFlight: 0 }
      this.#lanes.set(key, lane)
    }
    lane.queued ??= { inputs: [], waiters: [] }
    const batch = lane.queued
    const result = new Promise<Out>((resolve, reject) => batch.waiters.push({ resolve, reject }))
    batch.inputs.push(input)
    if (batch.inputs.length >= (this.options.maxBatch ?? 200)) {
      lane.queued = undefined
      this.send(key, lane, batch)
    } else {
      this.#due.add(key)
      if (!this.#scheduled) {
        this.#scheduled = true
        setImmediate(this.flush)
      }
    }
    return result
  }

  private readonly flush = () => {
    this.#scheduled = false
    for (const key of this.#due) this.sendQueued(key)
    this.#due.clear()
  }

  private sendQueued(key: string) {
    const lane = this.#lanes.get(key)
    if (!lane?.queued) return
    if (lane.inFlight >= (this.options.maxInFlight ?? Number.POSITIVE_INFINITY)) return
    const batch = lane.queued
    lane.queued = undefined
    this.send(key, lane, batch)
  }

  private send(key: string, lane: Lane<In, Out>, { inputs, waiters }: Batch<In, Out>) {
    lane.inFlight++
    const settle = (outputs: Out[] | undefined, err?: unknown) => {
      lane.inFlight--
      if (outputs && outputs.length !== waiters.length) {
        err = new Error(`a batch of ${waiters.length} calls returned ${outputs.length} results`)
      }
      for (let i = 0; i < waiters.length; i++) {
        if (err === undefined) waiters[i]!.resolve(outputs![i]!)
        else waiters[i]!.reject(err)
      }
      if (lane.queued) this.sendQueued(key)
      else if (lane.inFlight === 0) this.#lanes.delete(key)
    }
    this.runBatch(key, inputs).then(
      (outputs) => settle(outputs),
      (err: unknown) => settle(undefined, err ?? new Error('batch failed')),
    )
  }
}
