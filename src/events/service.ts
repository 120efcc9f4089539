import type { Clock } from '../platform/clock.js'
import type { Db } from '../platform/db/database.js'
import type { Metrics } from '../platform/metrics.js'
import type { NatsPublisher } from './nats.js'
import { type Envelope, OutboxRepository } from './outbox.js'
import { Relay, type RelayLog, type RelaySettings } from './relay.js'
import { type Resolve, systemResolve } from './targets.js'
import { WebhookRepository, WebhookService } from './webhooks.js'

/**
 * Events out: the outbox that every change writes in its own transaction, the feed that reads it,
 * the webhooks, and the relay that sends each event to them.
 */
export class Events {
  readonly outbox: OutboxRepository
  readonly webhooks: WebhookService
  readonly relay: Relay

  private readonly clock: Clock

  constructor({
    db,
    clock,
    settings,
    metrics,
    resolve = systemResolve,
    nats,
    log,
  }: {
    db: Db
    clock: Clock
    settings: RelaySettings
    metrics: Metrics
    /** How host names resolve, for the target checks (at creation and at each attempt). */
    resolve?: Resolve
    /** With NATS_URL set: the stream every event is also published to. */
    nats?: NatsPublisher
    /** Where the relay's failures are told. */
    log: RelayLog
  }) {
    this.clock = clock
    this.outbox = new OutboxRepository(db)
    const webhooks = new WebhookRepository(db)
    this.webhooks = new WebhookService({ repository: webhooks, clock, allowPrivate: settings.allowPrivate, resolve })
    this.relay = new Relay({ outbox: this.outbox, webhooks, clock, settings, metrics, resolve, nats, log })
    metrics.registerOutboxLag(
      () => this.outbox.oldestUndelivered(),
      () => clock.now(),
    )
  }

  /** The feed: numbered events after `after`, in order. */
  feed(after: number, limit: number): Promise<Envelope[]> {
    return this.outbox.after(after, limit)
  }

  /** Deletes events past their retention whose deliveries are over. */
  sweep(): Promise<number> {
    return this.outbox.sweep(new Date(this.clock.now()))
  }
}
