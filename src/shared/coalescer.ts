interface Batch<In, Out> {
  inputs: In[]
  waiters: { resolve(value: Out): void; reject(err: unknown): void }[]
}

/**
 * Gathers the calls made in one turn of the event loop and runs them as one batch per key, in the
 * order they were made: a crowd polling one concert costs one store round trip per turn, not one
 * per poll. A batch never exceeds `maxBatch` calls; a failed batch fails each of its calls.
 */
export class Coalescer<In, Out> {
  readonly #pending = new Map<string, Batch<In, Out>>()
  #scheduled = false

  constructor(
    private readonly runBatch: (key: string, inputs: In[]) => Promise<Out[]>,
    private readonly maxBatch = 200,
  ) {}

  run(key: string, input: In): Promise<Out> {
    let batch = this.#pending.get(key)
    if (!batch) {
      batch = { inputs: [], waiters: [] }
      this.#pending.set(key, batch)
    }
    const result = new Promise<Out>((resolve, reject) => batch.waiters.push({ resolve, reject }))
    batch.inputs.push(input)
    if (batch.inputs.length >= this.maxBatch) {
      this.#pending.delete(key)
      this.send(key, batch)
    } else if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(this.flush)
    }
    return result
  }

  private readonly flush = () => {
    this.#scheduled = false
    for (const [key, batch] of this.#pending) this.send(key, batch)
    this.#pending.clear()
  }

  private send(key: string, { inputs, waiters }: Batch<In, Out>) {
    this.runBatch(key, inputs).then(
      (outputs) => {
        if (outputs.length !== waiters.length) {
          const err = new Error(`a batch of ${waiters.length} calls returned ${outputs.length} results`)
          for (const waiter of waiters) waiter.reject(err)
          return
        }
        for (let i = 0; i < waiters.length; i++) waiters[i]!.resolve(outputs[i]!)
      },
      (err: unknown) => {
        for (const waiter of waiters) waiter.reject(err)
      },
    )
  }
}
