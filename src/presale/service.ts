import { type Kysely, sql } from 'kysely'
import type { CatalogService } from '../catalog/service.js'
import type { Clock } from '../platform/clock.js'
import { inTransaction } from '../platform/db/database.js'
import { notFound } from '../platform/errors.js'
import { canonicalCode, newCodes } from './codes.js'

/**
 * Codes written by one statement, and read by one for an export: each statement stays well within
 * DB_TIMEOUT_MS (100,000 codes on PostgreSQL in one statement took over its 2 s default).
 */
const CODES_PER_STATEMENT = 10_000

interface PresaleCodesTable {
  concert_id: string
  /** Canonical form (codes.ts). */
  code: string
  max_uses: number
  uses: number
  first_used_by: string | null
  first_used_at: Date | null
  created_at: Date
}

interface PresaleCodeUsesTable {
  concert_id: string
  code: string
  user_id: string
  used_at: Date
}

export interface PresaleTables {
  presale_codes: PresaleCodesTable
  presale_code_uses: PresaleCodeUsesTable
}

/** A code as operators see it: how often it may be used, how often it was, and by whom first. */
export interface PresaleCode {
  code: string
  maxUses: number
  uses: number
  firstUsedBy: string | null
  firstUsedAt: Date | null
  createdAt: Date
}

/** What a code does for a join: it lets the user in, it is no code of the concert, or other users have used it up. */
export type CodeUse = 'OK' | 'INVALID' | 'USED'

/** One page of a concert's codes, in the order of the codes, with the counts of them all. */
export interface CodesPage {
  total: number
  used: number
  items: PresaleCode[]
  /** The cursor of the next page; null on the last. */
  nextCursor: string | null
}

const toCode = (r: PresaleCodesTable): PresaleCode => ({
  code: r.code,
  maxUses: r.max_uses,
  uses: r.uses,
  firstUsedBy: r.first_used_by,
  firstUsedAt: r.first_used_at,
  createdAt: r.created_at,
})

/** What the presale codes are built from. */
export interface PresaleParts {
  db: Kysely<PresaleTables>
  /** Codes are made and listed for known concerts only. */
  concerts: Pick<CatalogService, 'concert'>
  clock: Clock
}

/** A concert's presale codes: made and listed by operators, used by the queue's join (docs/queue.md#presale-codes). */
export class PresaleCodes {
  private readonly db: Kysely<PresaleTables>
  private readonly concerts: Pick<CatalogService, 'concert'>
  private readonly clock: Clock

  constructor(parts: PresaleParts) {
    this.db = parts.db
    this.concerts = parts.concerts
    this.clock = parts.clock
  }

  /** `count` new codes of the concert, each for `maxUses` distinct users: all of them or, on a failure, none. */
  async generate(concertId: string, count: number, maxUses: number): Promise<string[]> {
    await this.knownConcert(concertId)
    const createdAt = new Date(this.clock.now())
    return inTransaction(this.db, async (trx) => {
      const made: string[] = []
      // With 75 random bits a code drawn twice is all but impossible; one would be skipped and drawn again.
      while (made.length < count) {
        const { rows } = await sql<{ code: string }>`
          insert into presale_codes (concert_id, code, max_uses, created_at)
          select ${concertId}, code, ${maxUses}, ${createdAt}
          from unnest(${newCodes(Math.min(count - made.length, CODES_PER_STATEMENT))}::text[]) as code
          on conflict do nothing
          returning code`.execute(trx)
        for (const { code } of rows) made.push(code)
      }
      return made
    })
  }

  /** A page of the concert's codes with their uses, after `cursor` (a code) in the order of the codes. */
  async list(concertId: string, limit: number, cursor?: string): Promise<CodesPage> {
    await this.knownConcert(concertId)
    const [counts, rows] = await Promise.all([
      this.db
        .selectFrom('presale_codes')
        .select((eb) => [eb.fn.countAll<number>().as('total'), sql<number>`count(*) filter (where uses > 0)`.as('used')])
        .where('concert_id', '=', concertId)
        .executeTakeFirstOrThrow(),
      this.after(concertId, cursor, limit + 1),
    ])
    const items = rows.slice(0, limit).map(toCode)
    const nextCursor = rows.length > limit ? items.at(-1)!.code : null
    return { total: Number(counts.total), used: Number(counts.used), items, nextCursor }
  }

  /** Every code of the concert, page by page (a statement each), for an export; 404 before the first page for an unknown concert. */
  async everyCode(concertId: string): Promise<AsyncIterable<PresaleCode[]>> {
    await this.knownConcert(concertId)
    return this.pages(concertId)
  }

  private async *pages(concertId: string): AsyncIterable<PresaleCode[]> {
    let cursor: string | undefined
    for (;;) {
      const rows = await this.after(concertId, cursor, CODES_PER_STATEMENT)
      if (rows.length > 0) yield rows.map(toCode)
      if (rows.length < CODES_PER_STATEMENT) return
      cursor = rows.at(-1)!.code
    }
  }

  /** Up to `limit` codes of the concert after `cursor`: a range of the primary key. */
  private after(concertId: string, cursor: string | undefined, limit: number): Promise<PresaleCodesTable[]> {
    let query = this.db.selectFrom('presale_codes').selectAll().where('concert_id', '=', concertId)
    if (cursor !== undefined) query = query.where('code', '>', cursor)
    return query.orderBy('code').limit(limit).execute()
  }

  /**
   * Uses a code, as typed, for the user: checked and counted in one step (presale_code_use.sql), so
   * of users racing for a code no more than its `maxUses` get it. A user who used it before gets
   * it again, and it is used no further.
   */
  async use(concertId: string, typed: string, userId: string): Promise<CodeUse> {
    const code = canonicalCode(typed)
    if (code === undefined) return 'INVALID'
    const { rows } = await sql<{ outcome: CodeUse }>`
      select presale_code_use(${concertId}, ${code}, ${userId}, ${new Date(this.clock.now())}) as outcome`.execute(this.db)
    return rows[0]!.outcome
  }

  private async knownConcert(concertId: string) {
    if (!(await this.concerts.concert(concertId))) throw notFound('concert')
  }
}
