import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { SingleFlight } from './single-flight.js'

/** One concert's queue, as the operators' figures show it. */
export interface QueueGaugeValues {
  concertId: string
  waiting: number
  active: number
  admittedLastMinute: number
  p50WaitSeconds: number | null
  admitPerTick: number
  /** While adaptive admission steers the concert: its last decision's p90 and error share (null before any). */
  latencyP90Ms: number | null
  errorRate: number | null
}

/** A count kept in a plain number on the hot path and added to its counter when it is read. */
interface Tally<L extends string> {
  labels: Record<L, string>
  n: number
}

/**
 * The app's Prometheus registry (one per app, so several apps can share a process in tests).
 * Series are prefixed `stagedoor_`; docs/operations.md lists them and ops/grafana draws them. Counts on
 * hot paths are plain numbers that a scrape adds to their counters, so a request does no label
 * hashing.
 */
/** How long a scrape waits for the outbox lag: the database answers it in milliseconds when well. */
const OUTBOX_LAG_WAIT_MS = 500

export class Metrics {
  readonly registry = new Registry()
  readonly #tallies = new Map<Counter<string>, Map<string, Tally<string>>>()
  readonly #observers = new Map<string, { observe(v: number): void }>()

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

  readonly webhookDeliveries = new Counter({
    name: 'stagedoor_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered, retrying (to be tried again) or failed (the last attempt failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })

  readonly relayBatchDuration = new Histogram({
    name: 'stagedoor_relay_batch_duration_seconds',
    help: 'Time of one relay batch: numbering new events and claiming due deliveries (sending runs after it)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  })

  constructor() {
    // Process memory, event-loop lag, GC: what an operator watches during a sale.
    collectDefaultMetrics({ register: this.registry, prefix: 'stagedoor_' })
  }

  /**
   * The queue gauges, by concert, read from `figures` at each scrape (one read for all of them).
   * The queue registers them as it is built, once.
   */
  registerQueueGauges(figures: () => Promise<QueueGaugeValues[]>): void {
    const scrape = new SingleFlight<void>(1)
    const gauge = (name: string, help: string) =>
      new Gauge({
        name,
        help,
        labelNames: ['concert'] as const,
        registers: [this.registry],
        collect: () => scrape.run('queue', read),
      })
    const waiting = gauge('stagedoor_queue_waiting', 'Fans waiting in line, by concert')
    const active = gauge('stagedoor_queue_active', 'Fans admitted and active, by concert')
    const admitted = gauge('stagedoor_queue_admitted_last_minute', 'Fans admitted in the last minute, by concert')
    const p50Wait = gauge(
      'stagedoor_queue_p50_wait_seconds',
      'Median wait from joining to admission of those admitted in the last minute, by concert',
    )
    const admitPerTick = gauge(
      'stagedoor_queue_admit_per_tick',
      'Fans admitted per tick (set by adaptive admission where it steers), by concert',
    )
    const bookingP90 = gauge(
      'stagedoor_queue_booking_latency_p90_seconds',
      "p90 latency of holds and payments in adaptive admission's last decided window, by concert",
    )
    const bookingErrors = gauge(
      'stagedoor_queue_booking_error_ratio',
      "Share of holds and payments that failed (5xx) in adaptive admission's last decided window, by concert",
    )
    const read = async () => {
      const all = await figures()
      for (const g of [waiting, active, admitted, p50Wait, admitPerTick, bookingP90, bookingErrors]) g.reset()
      for (const f of all) {
        const concert = f.concertId
        waiting.set({ concert }, f.waiting)
        active.set({ concert }, f.active)
        admitted.set({ concert }, f.admittedLastMinute)
        if (f.p50WaitSeconds !== null) p50Wait.set({ concert }, f.p50WaitSeconds)
        admitPerTick.set({ concert }, f.admitPerTick)
        if (f.latencyP90Ms !== null) bookingP90.set({ concert }, f.latencyP90Ms / 1000)
        if (f.errorRate !== null) bookingErrors.set({ concert }, f.errorRate)
      }
    }
  }

  /**
   * The outbox lag, read at each scrape from the time of the oldest event not yet out, against
   * `now`. The events component registers it as it is built, once. A scrape waits for the read
   * at most OUTBOX_LAG_WAIT_MS: while the database stalls or fails, the gauge keeps its last value
   * and the scrape answers with everything else, which is when an operator needs it most.
   */
  registerOutboxLag(oldestUndelivered: () => Promise<Date | undefined>, now: () => number): void {
    const lag = new Gauge({
      name: 'stagedoor_outbox_lag_seconds',
      help: 'Age of the oldest event not yet out: not numbered yet, or with a webhook delivery still pending; 0 when none (its last value while the database does not answer)',
      registers: [this.registry],
      collect: async () => {
        let timer: NodeJS.Timeout | undefined
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), OUTBOX_LAG_WAIT_MS)
        })
        const at = await Promise.race([oldestUndelivered(), late]).catch(() => 'late' as const)
        clearTimeout(timer)
        if (at !== 'late') lag.set(at === undefined ? 0 : Math.max(0, (now() - at.getTime()) / 1000))
      },
    })
  }

  webhookDelivery(outcome: 'delivered' | 'retrying' | 'failed') {
    this.webhookDeliveries.labels({ outcome }).inc()
  }

  relayBatch(seconds: number) {
    this.relayBatchDuration.observe(seconds)
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
}
