import type { Clock } from '../platform/clock.js'
import type { Metrics } from '../platform/metrics.js'
import { SingleFlight } from '../platform/single-flight.js'
import { type HeldClaim, HeldClaims, LEASE_MS } from './leases.js'
import type { NatsPublisher } from './nats.js'
import { type OutboxRepository, toEnvelope } from './outbox.js'
import { type AttemptResult, sendWebhook } from './sender.js'
import type { Resolve } from './targets.js'
import type { ClaimedDelivery, WebhookRepository } from './webhooks.js'

/** Where the relay says what failed past its own handling: the app's log. */
export interface RelayLog {
  warn(fields: { err: unknown }, message: string): void
}

export interface RelaySettings {
  /** WEBHOOK_ALLOW_PRIVATE: loopback and private targets allowed (checked again at each attempt). */
  allowPrivate: boolean
  /** WEBHOOK_RETRY_BASE_MS: the first retry's delay; each later one doubles it. */
  retryBaseMs: number
  /** WEBHOOK_RETRY_MAX_MS: the longest delay between two attempts. */
  retryMaxMs: number
  /** WEBHOOK_MAX_ATTEMPTS: attempts of one delivery before it is `failed`. */
  maxAttempts: number
  /** WEBHOOK_TIMEOUT_MS: one attempt's whole time (10 s): a receiver that has not answered a 2xx by then has failed it. */
  timeoutMs: number
}

/** An attempt made, its claim still held until its outcome is written. */
interface Attempt {
  claim: HeldClaim
  /** The delivery's attempts with this one. */
  attempts: number
  result: AttemptResult
}

/** Deliveries of one endpoint sent at once. */
const PER_ENDPOINT = 4
/** Endpoints claimed in one batch. */
const ENDPOINTS_PER_BATCH = 100
/** Events numbered in one batch. */
const SEQUENCE_BATCH = 1000
/** Events published to NATS per claim. */
const PUBLISH_BATCH = 500

/**
 * The delay before retry number `n` (1 for the first): doubling from the base up to the maximum,
 * then drawn between half of it and all of it (jitter), so endpoints failing together do not
 * come back together.
 */
export function retryDelayMs(n: number, base: number, max: number, random: () => number = Math.random): number {
  const delay = Math.min(max, base * 2 ** Math.min(n - 1, 40))
  return Math.round(delay / 2 + (random() * delay) / 2)
}

/**
 * Sends what the outbox holds to the webhooks, in every process. Each batch numbers the newly
 * committed events, then claims due deliveries of endpoints this process is not already sending
 * to, and sends each endpoint's claim on its own: a slow or failing endpoint holds up only its
 * own deliveries, never another's, and never the next batch.
 */
export class Relay {
  /** Each endpoint's claim being sent, by webhook id; an endpoint sending is not claimed again. */
  readonly #sending = new SingleFlight<void>()
  /** The publishing to NATS under way: one at a time. */
  readonly #publishing = new SingleFlight<void>(1)
  readonly #stop = new AbortController()

  private readonly outbox: OutboxRepository
  private readonly webhooks: WebhookRepository
  private readonly clock: Clock
  private readonly settings: RelaySettings
  private readonly metrics: Metrics
  private readonly resolve: Resolve
  /** The time written in signatures: receivers compare it with their own clocks. */
  private readonly wallClock: () => number
  /** The claims whose attempts are in flight, their leases renewed until they end. */
  private readonly held: HeldClaims
  /** With NATS_URL set: every event numbered is also published to NATS JetStream. */
  private readonly nats: NatsPublisher | undefined
  /** Told of a send or a publish that failed past its own handling (the database or NATS down): the next batch tries again. */
  private readonly log: RelayLog

  constructor(parts: {
    outbox: OutboxRepository
    webhooks: WebhookRepository
    clock: Clock
    settings: RelaySettings
    metrics: Metrics
    resolve: Resolve
    nats: NatsPublisher | undefined
    log: RelayLog
    wallClock?: () => number
  }) {
    this.outbox = parts.outbox
    this.webhooks = parts.webhooks
    this.clock = parts.clock
    this.settings = parts.settings
    this.metrics = parts.metrics
    this.resolve = parts.resolve
    this.wallClock = parts.wallClock ?? Date.now
    this.nats = parts.nats
    this.log = parts.log
    this.held = new HeldClaims(parts.webhooks, parts.clock)
    this.held.onError = (err) => this.failed(err, 'renewing claims')
  }

  /** One batch: numbers new events, claims what is due, and starts sending it (without waiting for the answers). */
  async runOnce(): Promise<void> {
    if (this.#stop.signal.aborted) return
    const started = performance.now()
    const now = this.clock.now()
    await this.outbox.sequence(SEQUENCE_BATCH, new Date(now), this.nats !== undefined)
    const nats = this.nats
    if (nats) void this.#publishing.run('nats', () => this.publish(nats, now).catch((err) => this.failed(err, 'publishing to NATS')))
    const leaseUntil = new Date(now + LEASE_MS)
    const claimed = await this.webhooks.claim(new Date(now), leaseUntil, PER_ENDPOINT, ENDPOINTS_PER_BATCH, this.#sending.running())
    const byEndpoint = new Map<string, ClaimedDelivery[]>()
    for (const d of claimed) byEndpoint.set(d.webhook_id, [...(byEndpoint.get(d.webhook_id) ?? []), d])
    for (const [webhookId, deliveries] of byEndpoint) {
      void this.#sending.run(webhookId, () =>
        this.sendAll(webhookId, deliveries, leaseUntil).catch((err) => this.failed(err, 'sending webhooks')),
      )
    }
    this.metrics.relayBatch((performance.now() - started) / 1000)
  }

  private failed(err: unknown, what: string) {
    this.log.warn({ err }, `event relay: ${what} failed; the next batch tries again`)
  }

  /** Resolves once every send started so far has its outcome written. */
  async settled(): Promise<void> {
    const busy = () => this.#sending.running().length > 0 || this.#publishing.running().length > 0
    while (busy()) await Promise.all([this.#sending.settled(), this.#publishing.settled()])
  }

  /**
   * Publishes the claimed events in sequence order until JetStream stops acknowledging, or half
   * the claim's lease has gone by: what was not acknowledged is given back and published again by
   * a later batch (JetStream drops a message it already has, by its id).
   */
  private async publish(nats: NatsPublisher, now: number): Promise<void> {
    const leaseUntil = new Date(now + LEASE_MS)
    const claimed = await this.outbox.claimPublications(new Date(now), leaseUntil, PUBLISH_BATCH)
    const done: string[] = []
    try {
      for (const event of claimed) {
        if (this.#stop.signal.aborted || this.clock.now() >= now + LEASE_MS / 2) break
        await nats.publish(event)
        done.push(event.id)
      }
    } finally {
      await this.outbox.published(done)
      await this.outbox.unclaimPublications(
        claimed.slice(done.length).map((e) => e.id),
        leaseUntil,
      )
    }
  }

  /** Stops: attempts in flight are cut and their claims given back, due again for any relay. */
  async stop(): Promise<void> {
    this.#stop.abort()
    await this.settled()
  }

  /**
   * Sends one endpoint's claim, side by side, and writes the outcomes together. While the endpoint
   * takes everything, it claims the endpoint's next due deliveries at once, so a backlog drains
   * without waiting for batches; the first failure puts the endpoint as a whole into backoff, so a
   * down endpoint gets one small claim per retry rather than every event's attempt.
   */
  private async sendAll(webhookId: string, claimed: ClaimedDelivery[], claimedUntil: Date): Promise<void> {
    let deliveries = claimed
    let leaseUntil = claimedUntil
    while (deliveries.length > 0) {
      const results = await this.record(await Promise.all(deliveries.map((d) => this.attempt(d, leaseUntil))))
      // Stopping, or a claim lost: the next batch goes on.
      if (this.#stop.signal.aborted || results.includes(undefined)) return
      const now = this.clock.now()
      if (results.some((r) => r && !r.delivered)) {
        const failures = await this.webhooks.endpointFailed(webhookId)
        const delay = retryDelayMs(failures, this.settings.retryBaseMs, this.settings.retryMaxMs)
        await this.webhooks.endpointRetryAt(webhookId, new Date(now + delay))
        return
      }
      await this.webhooks.endpointRecovered(webhookId, new Date(now))
      leaseUntil = new Date(now + LEASE_MS)
      deliveries = await this.webhooks.claim(new Date(now), leaseUntil, PER_ENDPOINT, 1, [], webhookId)
    }
  }

  /** One attempt of one delivery, its claim renewed while it is in flight (and until its outcome is written). */
  private async attempt(d: ClaimedDelivery, leaseUntil: Date): Promise<Attempt> {
    const claim = this.held.hold(d.webhook_id, d.event_id, leaseUntil)
    const envelope = toEnvelope({ id: d.event_id, type: d.type, occurred_at: d.occurred_at, sequence: d.sequence, data: d.data })
    const result = await sendWebhook(
      d,
      { id: d.event_id, body: JSON.stringify(envelope), signedAt: new Date(this.wallClock()) },
      {
        allowPrivate: this.settings.allowPrivate,
        resolve: this.resolve,
        timeoutMs: this.settings.timeoutMs,
        signals: [this.#stop.signal, claim.lost.signal],
      },
    )
    return { claim, attempts: d.attempts + 1, result }
  }

  /**
   * Writes the outcomes of attempts to their log, in one statement. Each outcome is undefined
   * when the stop cut its attempt (its claim is given back), or when its claim was lost (the
   * attempt was cut, and writes nothing: the delivery is another relay's now).
   */
  private async record(attempts: Attempt[]): Promise<(AttemptResult | undefined)[]> {
    for (const { claim } of attempts) await this.held.end(claim)
    const now = this.clock.now()
    const outcomes = attempts.map(({ claim, attempts: n, result }) => {
      if (claim.lost.signal.aborted) return undefined
      if (this.#stop.signal.aborted && !result.delivered && result.status === null) return undefined
      const last = !result.delivered && n >= this.settings.maxAttempts
      const retryAt = result.delivered || last ? null : new Date(now + retryDelayMs(n, this.settings.retryBaseMs, this.settings.retryMaxMs))
      return { claim, result, last, retryAt }
    })
    const cut = attempts.filter(({ claim }, i) => outcomes[i] === undefined && !claim.lost.signal.aborted)
    for (const { claim } of cut) await this.webhooks.release(claim)
    const written = outcomes.filter((o) => o !== undefined)
    await this.webhooks.recordAttempts(
      written.map(({ claim, result, retryAt }) => ({
        webhookId: claim.webhookId,
        eventId: claim.eventId,
        leaseUntil: claim.leaseUntil,
        at: new Date(now),
        ...result,
        retryAt,
      })),
    )
    for (const { result, last } of written) this.metrics.webhookDelivery(result.delivered ? 'delivered' : last ? 'failed' : 'retrying')
    return outcomes.map((o) => o?.result)
  }
}
