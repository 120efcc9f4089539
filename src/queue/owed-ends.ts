import type { Kysely } from 'kysely'

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
  constructor(private readonly db: Kysely<OwedEndsTables>) {}

  async paid(tokenId: string): Promise<void> {
    await this.db.deleteFrom('queue_owed_ends').where('token_id', '=', tokenId).execute()
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
