import { Counter, collectDefaultMetrics, Registry } from 'prom-client'

/** The app's Prometheus registry (one per app, so several apps can share a process in tests). */
export class Metrics {
  readonly registry = new Registry()
  readonly cacheRequests = new Counter({
    name: 'stagedoor_cache_requests_total',
    help: 'Cache reads by cache name and outcome: local hit, Redis hit, or a load from the database',
    labelNames: ['cache', 'result'] as const,
    registers: [this.registry],
  })

  readonly #cacheChildren = new Map<string, { inc(): void }>()

  /** Counts one cache read; the labelled child is bound once, so hot paths skip label hashing. */
  cacheRead(cache: string, result: 'local' | 'redis' | 'load') {
    const key = `${cache}\u0000${result}`
    let child = this.#cacheChildren.get(key)
    if (!child) {
      child = this.cacheRequests.labels({ cache, result })
      this.#cacheChildren.set(key, child)
    }
    child.inc()
  }

  constructor() {
    // Process memory, event-loop lag, GC: what an operator watches during a sale.
    collectDefaultMetrics({ register: this.registry, prefix: 'stagedoor_' })
  }
}
