import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import type { Clock } from '../shared/clock.js'
import { badRequest, notFound } from '../shared/errors.js'
import { newId } from '../shared/ids.js'

export const MAX_CHARGE = 100_000_000

export interface LedgerEntry {
  entryId: string
  kind: 'CHARGE' | 'PAYMENT'
  amount: number
  balanceAfter: number
  createdAt: Date
}

export interface Charge {
  chargeId: string
  amount: number
  balance: number
}

/**
 * Prepaid balances. Every change is one statement that moves the balance and writes its ledger
 * entry together, so the balance always equals the sum of the ledger; a CHECK keeps it at zero
 * or above.
 */
export class WalletService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async balance(userId: string): Promise<number> {
    const row = await this.db.selectFrom('users').select('balance').where('id', '=', userId).executeTakeFirst()
    if (!row) throw notFound('user')
    return row.balance
  }

  async charge(userId: string, amount: number, db: Db = this.db): Promise<Charge> {
    if (!Number.isInteger(amount) || amount < 1 || amount > MAX_CHARGE) {
      throw badRequest('amount', `must be a whole number of won from 1 to ${MAX_CHARGE}`)
    }
    const now = this.clock.now()
    const chargeId = newId('chg', now)
    const { rows } = await sql<{ balance_after: number }>`
      with u as (
        update users set balance = balance + ${amount} where id = ${userId} returning balance
      )
      insert into balance_ledger (user_id, kind, amount, balance_after, ref_id, created_at)
      select ${userId}, 'CHARGE', ${amount}, u.balance, ${chargeId}, ${new Date(now)} from u
      returning balance_after`.execute(db)
    if (rows.length === 0) throw notFound('user')
    return { chargeId, amount, balance: rows[0]!.balance_after }
  }

  /** Newest first; the cursor is the last entry id seen. */
  async history(userId: string, limit: number, cursor?: string): Promise<{ items: LedgerEntry[]; nextCursor: string | null }> {
    let before: number | undefined
    if (cursor !== undefined) {
      const decoded = /^\d{1,18}$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))?.[0]
      if (!decoded) throw badRequest('cursor', 'is not a cursor this API returned')
      before = Number(decoded)
    }
    let query = this.db
      .selectFrom('balance_ledger')
      .select(['id', 'kind', 'amount', 'balance_after', 'created_at'])
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(limit + 1)
    if (before !== undefined) query = query.where('id', '<', before)
    const rows = await query.execute()
    const page = rows.slice(0, limit)
    return {
      items: page.map((r) => ({
        entryId: String(r.id),
        kind: r.kind,
        amount: r.amount,
        balanceAfter: r.balance_after,
        createdAt: r.created_at,
      })),
      nextCursor: rows.length > limit ? Buffer.from(String(page.at(-1)!.id)).toString('base64url') : null,
    }
  }
}
