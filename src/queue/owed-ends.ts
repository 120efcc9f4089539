import { type Kysely, sql } from 'kysely'
import { Coalescer } from '../platform/coalescer.js'

interface QueueOwedEndsTable {
  token_id: string
  concert_id: string
  owed_since: Date
}

export interface OwedEndsTables {
  queue_owed_ends: QueueOwedEndsTable
}

/**
 * Token ends owed after payments (sql/queue_owe_end.sql writes them in the payment's
 * transaction). The queue pays each as soon as it can, and a loop pays those left behind by a
 * dead process or an unreachable store.
 */
export class OwedEnds {
  // Payments that end together strike their owed ends in one statement, one at a time: a round
  // trip and a commit per batch rather than per payment.
  readonly #strikes = new Coalescer<string, void>(
    async (_, tokenIds) => {
      await sql`delete from queue_owed_ends where token_id = any(${tokenIds}::text[])`.execute(this.db)
      return tokenIds.map(() => undefined)
    },
    { maxInFlight: 1 },
  )

  constructor(private readonly db: Kysely<OwedEndsTables>) {}

  paid(tokenId: string): Promise<void> {
    return this.#strikes.run('', tokenId)
  }

  /** The oldest ends owed since before `before`. */
  async due(before: Date, limit: number): Promise<{ tokenId: string; concertId: string }[]> {
    const rows = await this.db
      .selectFrom('queue_owed_ends')
      .select(['token_id', 'concert_id'])
      .where('owed_since', '<', before)
      .orderBy('owed_since')
      .limit(limit)
      .execute()
    return rows.map((r) => ({ tokenId: r.token_id, concertId: r.concert_id }))
  }
}
