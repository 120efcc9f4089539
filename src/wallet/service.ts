import type { IdempotencyService } from '../idempotency/service.js'
import type { Clock } from '../platform/clock.js'
import { badRequest } from '../platform/errors.js'
import { newId } from '../platform/ids.js'
import type { LedgerEntry, WalletRepository } from './repository.js'

export const MAX_CHARGE = 100_000_000

export interface Charge {
  chargeId: string
  amount: number
  balance: number
}

/**
 * Prepaid balances. Every change is one statement that moves the balance and writes its ledger
 * entry together, so the balance always equals the sum of the ledger.
 */
export class WalletService {
  constructor(
    private readonly repository: WalletRepository,
    private readonly idempotency: IdempotencyService,
    private readonly clock: Clock,
  ) {}

  balance(userId: string): Promise<number> {
    return this.repository.balance(userId)
  }

  /** Adds money; with an Idempotency-Key a retry replays the first answer. */
  async charge(userId: string, amount: number, idempotencyKey: string | undefined): Promise<Charge> {
    if (!Number.isInteger(amount) || amount < 1 || amount > MAX_CHARGE) {
      throw badRequest('amount', `must be a whole number of won from 1 to ${MAX_CHARGE}`)
    }
    return this.idempotency.run(userId, 'charges', idempotencyKey, { amount }, async (trx) => {
      const now = this.clock.now()
      const chargeId = newId('chg', now)
      const balance = await this.repository.move(userId, 'CHARGE', amount, chargeId, new Date(now), trx)
      return { chargeId, amount, balance: balance! }
    })
  }

  /** Newest first; the cursor is the last entry id seen. */
  async history(userId: string, limit: number, cursor?: string): Promise<{ items: LedgerEntry[]; nextCursor: string | null }> {
    let before: number | undefined
    if (cursor !== undefined) {
      const decoded = /^\d{1,18}$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))?.[0]
      if (!decoded) throw badRequest('cursor', 'is not a cursor this API returned')
      before = Number(decoded)
    }
    const entries = await this.repository.ledger(userId, limit, before)
    const page = entries.slice(0, limit)
    return { items: page, nextCursor: entries.length > limit ? Buffer.from(page.at(-1)!.entryId).toString('base64url') : null }
  }
}
