import { randomBytes } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import type { Clock } from '../platform/clock.js'
import { badRequest, notFound } from '../platform/errors.js'
import { newId } from '../platform/ids.js'
import type { EventType } from './catalogue.js'
import type { OutboxTables } from './outbox.js'
import { type Resolve, refusedTarget } from './targets.js'

interface WebhooksTable {
  id: string
  url: string
  /** JSON: the event types subscribed to, or ["*"]. */
  events: string[]
  description: string | null
  secret: string
  created_at: Date
  /** The endpoint's failed batches in a row, and when it may be tried again: its own backoff. */
  failures: number
  retry_at: Date | null
}

type DeliveryStatus = 'pending' | 'delivered' | 'failed'

interface WebhookDeliveriesTable {
  webhook_id: string
  event_id: string
  sequence: number
  status: DeliveryStatus
  attempts: number
  next_attempt_at: Date
  lease_until: Date | null
  last_response_status: number | null
  last_response_body: string | null
  last_error: string | null
  last_attempt_at: Date | null
}

export interface WebhookTables extends OutboxTables {
  webhooks: WebhooksTable
  webhook_deliveries: WebhookDeliveriesTable
}

/** The event types an endpoint gets, or `["*"]` for all. */
type Subscription = (EventType | '*')[]

export interface Webhook {
  webhookId: string
  url: string
  events: Subscription
  description: string | null
  createdAt: Date
}

export interface Delivery {
  eventId: string
  type: EventType
  sequence: number
  attempts: number
  status: DeliveryStatus
  lastResponseStatus: number | null
  lastResponseBody: string | null
  lastError: string | null
  lastAttemptAt: Date | null
  /** When it is tried next; null once delivered or failed. */
  nextAttemptAt: Date | null
}

/** A delivery a relay has claimed, with what it needs to send it. */
export interface ClaimedDelivery {
  webhook_id: string
  url: string
  secret: string
  event_id: string
  sequence: number
  type: EventType
  occurred_at: Date
  data: unknown
  attempts: number
}

/** A claim as this relay holds it: the delivery, and its lease as written. */
interface Claim {
  webhookId: string
  eventId: string
  leaseUntil: Date
}

/** How an attempt went, as the delivery log keeps it. */
export interface AttemptRecord extends Claim {
  at: Date
  delivered: boolean
  status: number | null
  body: string | null
  error: string | null
  /** When to try again if not delivered; null: the last attempt failed, the delivery is `failed`. */
  retryAt: Date | null
}

const toWebhook = (r: Pick<WebhooksTable, 'id' | 'url' | 'events' | 'description' | 'created_at'>): Webhook => ({
  webhookId: r.id,
  url: r.url,
  events: r.events as Subscription,
  description: r.description,
  createdAt: r.created_at,
})

/** The webhook tables: endpoints and their deliveries. Only the events component writes them. */
export class WebhookRepository {
  constructor(readonly db: Kysely<WebhookTables>) {}

  async insert(row: WebhooksTable): Promise<void> {
    await this.db
      .insertInto('webhooks')
      .values({ ...row, events: JSON.stringify(row.events) as never })
      .execute()
  }

  async list(): Promise<Webhook[]> {
    const rows = await this.db.selectFrom('webhooks').select(['id', 'url', 'events', 'description', 'created_at']).orderBy('id').execute()
    return rows.map(toWebhook)
  }

  async find(webhookId: string): Promise<Webhook | undefined> {
    const row = await this.db
      .selectFrom('webhooks')
      .select(['id', 'url', 'events', 'description', 'created_at'])
      .where('id', '=', webhookId)
      .executeTakeFirst()
    return row && toWebhook(row)
  }

  /** Removes an endpoint with its deliveries; false if there was none. */
  async remove(webhookId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('webhooks').where('id', '=', webhookId).executeTakeFirst()
    return Number(result.numDeletedRows) === 1
  }

  /** The endpoint's deliveries, newest event first. */
  async deliveries(webhookId: string, limit: number, eventId?: string): Promise<Delivery[]> {
    let query = this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('events as e', 'e.id', 'd.event_id')
      .select([
        'd.event_id',
        'e.type',
        'd.sequence',
        'd.attempts',
        'd.status',
        'd.last_response_status',
        'd.last_response_body',
        'd.last_error',
        'd.last_attempt_at',
        'd.next_attempt_at',
      ])
      .where('d.webhook_id', '=', webhookId)
      .orderBy('d.sequence', 'desc')
      .limit(limit)
    if (eventId !== undefined) query = query.where('d.event_id', '=', eventId)
    const rows = await query.execute()
    return rows.map((r) => ({
      eventId: r.event_id,
      type: r.type,
      sequence: r.sequence,
      attempts: r.attempts,
      status: r.status,
      lastResponseStatus: r.last_response_status,
      lastResponseBody: r.last_response_body,
      lastError: r.last_error,
      lastAttemptAt: r.last_attempt_at,
      nextAttemptAt: r.status === 'pending' ? r.next_attempt_at : null,
    }))
  }

  /** Makes a delivery due now with a fresh count of attempts, and its endpoint due too; false if there is no such delivery. */
  async retry(webhookId: string, eventId: string, now: Date): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', attempts: 0, next_attempt_at: now, lease_until: null })
        .where('webhook_id', '=', webhookId)
        .where('event_id', '=', eventId)
        .executeTakeFirst()
      if (Number(updated.numUpdatedRows) !== 1) return false
      await trx.updateTable('webhooks').set({ retry_at: null }).where('id', '=', webhookId).execute()
      return true
    })
  }

  /** Claims due deliveries until `leaseUntil` (webhook_claim). */
  async claim(
    now: Date,
    leaseUntil: Date,
    perEndpoint: number,
    endpoints: number,
    skip: string[],
    only: string | null = null,
  ): Promise<ClaimedDelivery[]> {
    const { rows } = await sql<ClaimedDelivery>`
      select * from webhook_claim(${now}, ${leaseUntil}, ${perEndpoint}::int, ${endpoints}::int,
                                  ${JSON.stringify(skip)}::jsonb, ${only}::text)`.execute(this.db)
    return rows
  }

  /**
   * Moves the leases of these claims on to `until`, each only while it is still as this relay wrote
   * it (no other relay took the delivery over); returns the claims renewed.
   */
  async renew(claims: Claim[], until: Date): Promise<{ webhookId: string; eventId: string }[]> {
    const held = JSON.stringify(claims.map((c) => ({ webhook_id: c.webhookId, event_id: c.eventId, lease_until: c.leaseUntil })))
    const { rows } = await sql<{ webhookId: string; eventId: string }>`
      update webhook_deliveries d set lease_until = ${until}
      from jsonb_to_recordset(${held}::jsonb) as c(webhook_id text, event_id text, lease_until timestamptz)
      where d.webhook_id = c.webhook_id and d.event_id = c.event_id and d.lease_until = c.lease_until and d.status = 'pending'
      returning d.webhook_id as "webhookId", d.event_id as "eventId"`.execute(this.db)
    return rows
  }

  /**
   * Writes how attempts went, in one statement: each delivered, pending again from `retryAt`, or
   * failed; each only while its claim is still this relay's.
   */
  async recordAttempts(records: AttemptRecord[]): Promise<void> {
    if (records.length === 0) return
    const outcomes = JSON.stringify(
      records.map((a) => ({
        webhook_id: a.webhookId,
        event_id: a.eventId,
        lease_until: a.leaseUntil,
        at: a.at,
        delivered: a.delivered,
        status: a.status,
        body: a.body,
        error: a.error,
        retry_at: a.retryAt,
      })),
    )
    await sql`
      update webhook_deliveries d set
        status = case when o.delivered then 'delivered' when o.retry_at is not null then 'pending' else 'failed' end,
        attempts = d.attempts + 1,
        next_attempt_at = coalesce(o.retry_at, o.at),
        lease_until = null,
        last_response_status = o.status,
        last_response_body = o.body,
        last_error = o.error,
        last_attempt_at = o.at
      from jsonb_to_recordset(${outcomes}::jsonb) as o(webhook_id text, event_id text, lease_until timestamptz, at timestamptz,
                                                      delivered boolean, status integer, body text, error text, retry_at timestamptz)
      where d.webhook_id = o.webhook_id and d.event_id = o.event_id and d.status = 'pending' and d.lease_until = o.lease_until`.execute(
      this.db,
    )
  }

  /** Gives back a claim without an attempt (the process is stopping): due again at once. */
  async release(c: Claim): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({ lease_until: null })
      .where('webhook_id', '=', c.webhookId)
      .where('event_id', '=', c.eventId)
      .where('status', '=', 'pending')
      .where('lease_until', '=', c.leaseUntil)
      .execute()
  }

  /**
   * An endpoint answered: its backoff ends, and whatever of it was waiting for a retry is due now,
   * so a receiver that comes back gets its backlog at once. One statement, which changes nothing
   * (and is all a healthy endpoint pays after each claim) unless the endpoint was failing.
   */
  async endpointRecovered(webhookId: string, now: Date): Promise<void> {
    await sql`
      with recovered as (
        update webhooks set failures = 0, retry_at = null where id = ${webhookId} and failures > 0 returning id
      )
      update webhook_deliveries d set next_attempt_at = ${now}
      from recovered r
      where d.webhook_id = r.id and d.status = 'pending' and d.next_attempt_at > ${now}`.execute(this.db)
  }

  /** An endpoint failed a whole batch: one more failure in a row; returns how many. */
  async endpointFailed(webhookId: string): Promise<number> {
    const row = await this.db
      .updateTable('webhooks')
      .set((eb) => ({ failures: eb('failures', '+', 1) }))
      .where('id', '=', webhookId)
      .returning('failures')
      .executeTakeFirst()
    return row?.failures ?? 0
  }

  async endpointRetryAt(webhookId: string, at: Date): Promise<void> {
    await this.db.updateTable('webhooks').set({ retry_at: at }).where('id', '=', webhookId).execute()
  }
}

export interface NewWebhook {
  url: string
  events: Subscription
  description?: string
}

export interface CreatedWebhook extends Webhook {
  /** `whsec_…`: shown once, at creation. */
  secret: string
}

/** A Standard Webhooks secret: `whsec_` and 24 random bytes in base64. */
const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`

/** The operators' webhook endpoints and their delivery logs. */
export class WebhookService {
  private readonly repository: WebhookRepository
  private readonly clock: Clock
  private readonly allowPrivate: boolean
  private readonly resolve: Resolve

  constructor(parts: { repository: WebhookRepository; clock: Clock; allowPrivate: boolean; resolve: Resolve }) {
    this.repository = parts.repository
    this.clock = parts.clock
    this.allowPrivate = parts.allowPrivate
    this.resolve = parts.resolve
  }

  /** A new endpoint; its URL must be a safe target (400 naming `url` otherwise). Nothing is stored on a refusal. */
  async create(input: NewWebhook): Promise<CreatedWebhook> {
    const refused = await refusedTarget(input.url, this.allowPrivate, this.resolve)
    if (refused) throw badRequest('url', refused)
    const events: Subscription = input.events.includes('*') ? ['*'] : [...new Set(input.events)]
    const now = this.clock.now()
    const webhook = {
      id: newId('wh', now),
      url: input.url,
      events,
      description: input.description ?? null,
      secret: newSecret(),
      created_at: new Date(now),
      failures: 0,
      retry_at: null,
    }
    await this.repository.insert(webhook)
    return { ...toWebhook(webhook), secret: webhook.secret }
  }

  list(): Promise<Webhook[]> {
    return this.repository.list()
  }

  async remove(webhookId: string): Promise<void> {
    if (!(await this.repository.remove(webhookId))) throw notFound('webhook')
  }

  async deliveries(webhookId: string, limit: number): Promise<Delivery[]> {
    if (!(await this.repository.find(webhookId))) throw notFound('webhook')
    return this.repository.deliveries(webhookId, limit)
  }

  /** Sends a delivery again as soon as a relay is free, with a fresh count of attempts (404 for an unknown webhook or event). */
  async retry(webhookId: string, eventId: string): Promise<Delivery> {
    if (!(await this.repository.find(webhookId))) throw notFound('webhook')
    if (!(await this.repository.retry(webhookId, eventId, new Date(this.clock.now())))) throw notFound('delivery')
    return (await this.repository.deliveries(webhookId, 1, eventId))[0]!
  }
}
