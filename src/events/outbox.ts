import { type Kysely, sql } from 'kysely'
import type { Tx } from '../platform/db/database.js'
import type { EventType } from './catalogue.js'

interface EventsTable {
  id: string
  /** The order events were written in (bigserial). */
  written: number
  /** Null until the relay numbers the committed event (events_sequence). */
  sequence: number | null
  type: EventType
  occurred_at: Date
  data: unknown
}

interface EventPublicationsTable {
  event_id: string
  sequence: number
  lease_until: Date | null
}

/** One row: the last sequence ever given, moved on by events_sequence, never back (retention deletes events, not numbers). */
interface EventCounterTable {
  one: true
  last_sequence: number
}

export interface OutboxTables {
  events: EventsTable
  event_publications: EventPublicationsTable
  event_counter: EventCounterTable
}

/** An event as it travels: over webhooks, NATS and the feed. */
export interface Envelope {
  id: string
  type: EventType
  timestamp: string
  sequence: number
  data: unknown
}

/**
 * Writes an event in the caller's transaction (events_emit): it exists if and only if the change
 * commits. Components whose change is a database function call events_emit there instead.
 */
export async function recordEvent(trx: Tx, type: EventType, data: unknown, at: Date): Promise<void> {
  await sql`select events_emit(${type}, ${JSON.stringify(data)}::jsonb, ${at})`.execute(trx)
}

export const toEnvelope = (row: Pick<EventsTable, 'id' | 'type' | 'occurred_at' | 'data'> & { sequence: number }): Envelope => ({
  id: row.id,
  type: row.type,
  timestamp: row.occurred_at.toISOString(),
  sequence: row.sequence,
  data: row.data,
})

/** Events are kept at least this long, and longer while a delivery of theirs is pending. */
const EVENT_RETENTION_MS = 7 * 24 * 3600 * 1000

/** The outbox table: numbering, the feed, retention. */
export class OutboxRepository {
  constructor(private readonly db: Kysely<OutboxTables>) {}

  /** Numbers committed events and fans them out to their webhooks, and to NATS with `publish` (events_sequence); how many. */
  async sequence(limit: number, now: Date, publish = false): Promise<number> {
    const { rows } = await sql<{ n: number }>`select events_sequence(${limit}::int, ${now}, ${publish}) as n`.execute(this.db)
    return rows[0]!.n
  }

  /** Claims the next events to publish to NATS until `leaseUntil`, in sequence order; another relay skips them. */
  async claimPublications(now: Date, leaseUntil: Date, limit: number): Promise<Envelope[]> {
    const { rows } = await sql<Pick<EventsTable, 'id' | 'type' | 'occurred_at' | 'data'> & { sequence: number }>`
      with claimed as (
        update event_publications p set lease_until = ${leaseUntil}
        from (select event_id from event_publications where lease_until is null or lease_until <= ${now}
              order by sequence limit ${limit} for update skip locked) c
        where p.event_id = c.event_id
        returning p.event_id
      )
      select e.id, e.sequence, e.type, e.occurred_at, e.data from claimed c join events e on e.id = c.event_id
      order by e.sequence`.execute(this.db)
    return rows.map(toEnvelope)
  }

  /** These events are in the stream: no more to publish. */
  async published(eventIds: string[]): Promise<void> {
    if (eventIds.length > 0) await this.db.deleteFrom('event_publications').where('event_id', 'in', eventIds).execute()
  }

  /** Gives back claims not published, while they are still this relay's (leased until `leaseUntil`): due again for any relay. */
  async unclaimPublications(eventIds: string[], leaseUntil: Date): Promise<void> {
    if (eventIds.length === 0) return
    await sql`update event_publications set lease_until = null
              where event_id in (${sql.join(eventIds)}) and lease_until = ${leaseUntil}`.execute(this.db)
  }

  /** Numbered events after `after`, in order. */
  async after(after: number, limit: number): Promise<Envelope[]> {
    const rows = await this.db
      .selectFrom('events')
      .select(['id', 'sequence', 'type', 'occurred_at', 'data'])
      .where('sequence', '>', after)
      .orderBy('sequence')
      .limit(limit)
      .execute()
    return rows.map((r) => toEnvelope({ ...r, sequence: r.sequence! }))
  }

  /** Deletes events past their retention whose every delivery is over (delivered or failed). */
  async sweep(now: Date, batch = 5000): Promise<number> {
    const result = await sql`
      delete from events where id in (
        select e.id from events e
        where e.occurred_at < ${new Date(now.getTime() - EVENT_RETENTION_MS)} and e.sequence is not null
          and not exists (select 1 from webhook_deliveries d where d.event_id = e.id and d.status = 'pending')
          and not exists (select 1 from event_publications p where p.event_id = e.id)
        limit ${batch})`.execute(this.db)
    return Number(result.numAffectedRows ?? 0)
  }

  /** When the oldest event not yet out happened: not numbered, or with a pending delivery. */
  async oldestUndelivered(): Promise<Date | undefined> {
    const { rows } = await sql<{ at: Date | null }>`
      select least(
        (select min(occurred_at) from events where sequence is null),
        (select min(e.occurred_at) from webhook_deliveries d join events e on e.id = d.event_id where d.status = 'pending'),
        (select min(e.occurred_at) from event_publications p join events e on e.id = p.event_id)
      ) as at`.execute(this.db)
    return rows[0]?.at ?? undefined
  }
}
