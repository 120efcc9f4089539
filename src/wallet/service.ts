import type { IdempotencyService } from '../idempotency/service.js'
import type { Clock } from '../platform/clock.js'
import { AppError, badRequest } from '../platform/errors.js'
import { newId } from '../platform/ids.js'
import type { UserRepository } from '../users/repository.js'
import type { LedgerEntry, WalletRepository } from './repository.js'

export const MAX_CHARGE = 100_000_000

export interface Charge {
  chargeId: string
  amount: number
  balance: number
}

/** Who may add money: fans themselves (`open`, the demo) or only the operator's payment integration (`off`). */
export type ChargesMode = 'open' | 'off'

/** What the wallet is built from. */
export interface WalletParts {
  repository: WalletRepository
  idempotency: IdempotencyService
  /** Where an operator's credit checks that its user exists. */
  users: UserRepository
  clock: Clock
  charges: ChargesMode
}

/**
 * Prepaid balances. Every change is one statement that moves the balance and writes its ledger
 * entry together, so the balance always equals the sum of the ledger.
 */
export class WalletService {
  private readonly repository: WalletRepository
  private readonly idempotency: IdempotencyService
  private readonly users: UserRepository
  private readonly clock: Clock
  readonly charges: ChargesMode

  constructor(parts: WalletParts) {
    this.repository = parts.repository
    this.idempotency = parts.idempotency
    this.users = parts.users
    this.clock = parts.clock
    this.charges = parts.charges
  }

  balance(userId: string): Promise<number> {
    return this.repository.balance(userId)
  }

  /** 403 where fans may not add money themselves; a fan's top-up asks before its body is read. */
  assertFanCharges(): void {
    if (this.charges === 'off') {
      throw new AppError(
        'CHARGES_DISABLED',
        "fans cannot add money here (CHARGES=off): balances are credited by the operator's payment integration, through POST /v1/admin/users/{userId}/balance/charges",
      )
    }
  }

  /** A fan adds money to their own balance (the demo's top-up); with an Idempotency-Key a retry replays the first answer. */
  async charge(userId: string, amount: number, idempotencyKey: string | undefined): Promise<Charge> {
    this.assertFanCharges()
    checkAmount(amount)
    return this.#add(userId, 'charges', amount, idempotencyKey)
  }

  /**
   * The operator credits a user, once the payment provider has confirmed a payment; the key (the
   * provider's payment id) makes a repeated confirmation replay the first answer. Works whatever
   * CHARGES says.
   */
  async credit(userId: string, amount: number, idempotencyKey: string): Promise<Charge> {
    checkAmount(amount)
    if (!(await this.users.exists(userId))) {
      throw new AppError('NOT_FOUND', 'user not found: a user exists from their first sign-up or sign-in')
    }
    return this.#add(userId, 'admin/charges', amount, idempotencyKey)
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

  /** One charge on the ledger, under the key of its route (fans' and the operator's keys never meet). */
  #add(userId: string, route: string, amount: number, idempotencyKey: string | undefined): Promise<Charge> {
    return this.idempotency.run(userId, route, idempotencyKey, { amount }, async (trx) => {
      const now = this.clock.now()
      const chargeId = newId('chg', now)
      const balance = await this.repository.move(userId, 'CHARGE', amount, chargeId, new Date(now), trx)
      return { chargeId, amount, balance: balance! }
    })
  }
}

function checkAmount(amount: number) {
  if (!Number.isInteger(amount) || amount < 1 || amount > MAX_CHARGE) {
    throw badRequest('amount', `must be a whole number of won from 1 to ${MAX_CHARGE}`)
  }
}
