import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** One concert's queue, as the operators' figures show it. */
export interface QueueGaugeValues {
  concertId: string
  waiting: number
  active: number
  admittedLastMinute: number
  p50WaitSeconds: number | null
}

/** A count kept in a plain number on the hot path and added to its counter when it is read. */
interface Tally<L extends string> {
  labels: Record<L, string>
  n: number
}

/**
 * The app's Prometheus registry (one per app, so several apps can share a process in tests).
 * Series are prefixed `stagedoor_`; the README lists them and ops/grafana draws them. Counts on
 * hot paths are plain numbers that a scrape adds to their counters, so a request does no label
 * hashing.
 */
export class Metrics {
  readonly registry = new Registry()
  readonly #tallies = new Map<Counter<string>, Map<string, Tally<string>>>()
  readonly #observers = new Map<string, { observe(v: number): void }>()
  #queueFigures: (() => Promise<QueueGaugeValues[]>) | undefined
  #queueScrape: Promise<void> | undefined

  readonly cacheRequests = new Counter({
    name: 'stagedoor_cache_requests_total',
    help: 'Cache reads by cache name and outcome: local hit, Redis hit, or a load from the source',
    labelNames: ['cache', 'result'] as const,
    registers: [this.registry],
    collect: this.#flush(),
  })

  readonly httpRequests = new Counter({
    name: 'stagedoor_http_requests_total',
    help: 'Requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
    collect: this.#flush(),
  })

  readonly httpDuration = new Histogram({
    name: 'stagedoor_http_request_duration_seconds',
    help: 'Time to answer a request, by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  })

  readonly dependencyDuration = new Histogram({
    name: 'stagedoor_dependency_duration_seconds',
    help: 'Time of one call to a dependency (database statement, Redis script, JWKS fetch), by dependency',
    labelNames: ['dependency'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  })

  readonly dependencyErrors = new Counter({
    name: 'stagedoor_dependency_errors_total',
    help: 'Failed calls to a dependency (refused, timed out, or an error it returned), by dependency',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
    collect: this.#flush(),
  })

  readonly holds = new Counter({
    name: 'stagedoor_holds_total',
    help: 'Seat hold attempts by concert and outcome (HELD or the refusal code)',
    labelNames: ['concert', 'outcome'] as const,
    registers: [this.registry],
  })

  readonly payments = new Counter({
    name: 'stagedoor_payments_total',
    help: 'Payment attempts by concert and outcome (PAID or the refusal code)',
    labelNames: ['concert', 'outcome'] as const,
    registers: [this.registry],
  })

  readonly queueWaiting = this.queueGauge('stagedoor_queue_waiting', 'Fans waiting in line, by concert')
  readonly queueActive = this.queueGauge('stagedoor_queue_active', 'Fans admitted and active, by concert')
  readonly queueAdmitted = this.queueGauge('stagedoor_queue_admitted_last_minute', 'Fans admitted in the last minute, by concert')
  readonly queueP50Wait = this.queueGauge(
    'stagedoor_queue_p50_wait_seconds',
    'Median wait from joining to admission of those admitted in the last minute, by concert',
  )

  constructor() {
    // Process memory, event-loop lag, GC: what an operator watches during a sale.
    collectDefaultMetrics({ register: this.registry, prefix: 'stagedoor_' })
  }

  /** Where the queue gauges come from: read at each scrape. */
  readQueueFiguresWith(figures: () => Promise<QueueGaugeValues[]>) {
    this.#queueFigures = figures
  }

  cacheRead(cache: string, result: 'local' | 'redis' | 'load') {
    this.#count(this.cacheRequests, `${cache}\u0000${result}`, { cache, result })
  }

  request(route: string, method: string, status: number, seconds: number) {
    this.#count(this.httpRequests, `${route}\u0000${method}\u0000${status}`, { route, method, status: String(status) })
    this.#observer(this.httpDuration, `d\u0000${route}\u0000${method}`, { route, method }).observe(seconds)
  }

  dependency(dependency: 'database' | 'redis' | 'jwks', seconds: number, failed: boolean) {
    this.#observer(this.dependencyDuration, `dep\u0000${dependency}`, { dependency }).observe(seconds)
    if (failed) this.#count(this.dependencyErrors, dependency, { dependency })
  }

  hold(concert: string, outcome: string) {
    this.holds.labels({ concert, outcome }).inc()
  }

  payment(concert: string, outcome: string) {
    this.payments.labels({ concert, outcome }).inc()
  }

  #count<L extends string>(counter: Counter<L>, key: string, labels: Record<L, string>) {
    const tallies = this.#talliesOf(counter)
    const tally = tallies.get(key)
    if (tally) tally.n++
    else tallies.set(key, { labels, n: 1 })
  }

  #talliesOf(counter: Counter<string>): Map<string, Tally<string>> {
    let tallies = this.#tallies.get(counter)
    if (!tallies) {
      tallies = new Map()
      this.#tallies.set(counter, tallies)
    }
    return tallies
  }

  /** A counter's collect: the tallies since its last read are added to it. */
  #flush() {
    const metrics = this
    return function (this: Counter<string>) {
      for (const tally of metrics.#talliesOf(this).values()) {
        if (tally.n === 0) continue
        this.inc(tally.labels, tally.n)
        tally.n = 0
      }
    }
  }

  #observer<L extends string>(histogram: Histogram<L>, key: string, labels: Record<L, string>) {
    let observer = this.#observers.get(key)
    if (!observer) {
      observer = histogram.labels(labels)
      this.#observers.set(key, observer)
    }
    return observer
  }

  private queueGauge(name: string, help: string): Gauge<'concert'> {
    return new Gauge({
      name,
      help,
      labelNames: ['concert'] as const,
      registers: [this.registry],
      // A scrape reads the four queue gauges at once: they share one read of every concert's figures.
      collect: async () => {
        this.#queueScrape ??= this.collectQueueFigures().finally(() => {
          this.#queueScrape = undefined
        })
        await this.#queueScrape
      },
    })
  }

  private async collectQueueFigures() {
    if (!this.#queueFigures) return
    const figures = await this.#queueFigures()
    for (const gauge of [this.queueWaiting, this.queueActive, this.queueAdmitted, this.queueP50Wait]) gauge.reset()
    for (const f of figures) {
      const concert = f.concertId
      this.queueWaiting.set({ concert }, f.waiting)
      this.queueActive.set({ concert }, f.active)
      this.queueAdmitted.set({ concert }, f.admittedLastMinute)
      if (f.p50WaitSeconds !== null) this.queueP50Wait.set({ concert }, f.p50WaitSeconds)
    }
  }
}
