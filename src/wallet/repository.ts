import { type Kysely, sql } from 'kysely'
import type { Tx } from '../platform/db/database.js'

export type LedgerKind = 'CHARGE' | 'PAYMENT' | 'REFUND'

/** A user's prepaid balance: never negative (a CHECK says so too), always the sum of their ledger. */
interface WalletsTable {
  user_id: string
  balance: number
}

interface BalanceLedgerTable {
  id: number
  user_id: string
  kind: LedgerKind
  /** Signed: + for a charge or a refund, − for a payment. */
  amount: number
  balance_after: number
  /** The charge id or payment id this entry records. */
  ref_id: string
  created_at: Date
}

export interface WalletTables {
  wallets: WalletsTable
  balance_ledger: BalanceLedgerTable
}

export interface LedgerEntry {
  entryId: string
  kind: LedgerKind
  amount: number
  balanceAfter: number
  createdAt: Date
}

/** The wallet's tables. Balances change only through sql/wallet_move.sql. */
export class WalletRepository {
  constructor(private readonly db: Kysely<WalletTables>) {}

  async balance(userId: string): Promise<number> {
    const row = await this.db.selectFrom('wallets').select('balance').where('user_id', '=', userId).executeTakeFirst()
    return row?.balance ?? 0
  }

  /** Moves the balance with its ledger entry; null if it would go below zero. */
  async move(userId: string, kind: LedgerKind, amount: number, refId: string, now: Date, db: Tx = this.db): Promise<number | null> {
    const { rows } = await sql<{ balance: number | null }>`
      select wallet_move(${userId}, ${kind}, ${amount}::bigint, ${refId}, ${now}) as balance`.execute(db)
    return rows[0]!.balance
  }

  /** Newest first, before the entry id `before` when given; one more than `limit`, to tell whether a next page exists. */
  async ledger(userId: string, limit: number, before?: number): Promise<LedgerEntry[]> {
    let query = this.db
      .selectFrom('balance_ledger')
      .select(['id', 'kind', 'amount', 'balance_after', 'created_at'])
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(limit + 1)
    if (before !== undefined) query = query.where('id', '<', before)
    const rows = await query.execute()
    return rows.map((r) => ({
      entryId: String(r.id),
      kind: r.kind,
      amount: r.amount,
      balanceAfter: r.balance_after,
      createdAt: r.created_at,
    }))
  }
}
