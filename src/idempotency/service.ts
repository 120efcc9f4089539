import { isDeepStrictEqual } from 'node:util'
import type { Db } from '../db/database.js'
import type { Clock } from '../shared/clock.js'
import { AppError, conflict } from '../shared/errors.js'

/** A key this request holds while its work runs. */
export class Claim {
  constructor(
    readonly userId: string,
    readonly route: string,
    readonly key: string,
  ) {}

  where(db: Db) {
    return db
      .updateTable('idempotency_keys')
      .where('user_id', '=', this.userId)
      .where('route', '=', this.route)
      .where('key', '=', this.key)
  }
}

/** What a finished request answered: a success, or a 409 refusal kept as its code and detail. */
export interface Answer<T = unknown> {
  status: number
  body: T
}

interface StoredRefusal {
  code: string
  detail: string
  extra: Record<string, unknown>
}

/** A key whose first request died before finishing may be taken over after this long. */
const ABANDONED_AFTER_MS = 60_000
/** Keys are kept at least this long (the sweep removes them after twice that). */
export const KEY_RETENTION_MS = 24 * 3600 * 1000

/**
 * `Idempotency-Key`, scoped to the user and the route. The key is claimed first (so a retry
 * while the first request runs is 409), then the work and the stored answer commit in one
 * transaction: a replay can never disagree with what happened.
 */
export class IdempotencyService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /**
   * Claims the key for this request, or returns the finished answer to replay (a stored refusal
   * is thrown again). 422 if the key was used with another body; 409 while another request runs.
   */
  async begin(userId: string, route: string, key: string, body: unknown): Promise<Claim | Answer> {
    const previous = await this.claim(userId, route, key, body)
    return previous ?? new Claim(userId, route, key)
  }

  /** Runs the claimed request's work and stores its answer in the same transaction. */
  async complete<T>(claim: Claim, work: (trx: Db) => Promise<Answer<T>>): Promise<Answer<T>> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const answer = await work(trx)
        await claim
          .where(trx)
          .set({ response_status: answer.status, response_body: JSON.stringify(answer.body) })
          .execute()
        return answer
      })
    } catch (err) {
      await this.settleFailure(claim, err)
      throw err
    }
  }

  /** A 409 refusal is a finished answer and is kept; anything else frees the key for a retry. */
  private async settleFailure(claim: Claim, err: unknown) {
    if (err instanceof AppError && err.status === 409) {
      const refusal: StoredRefusal = { code: err.code, detail: err.detail, extra: err.extra }
      await claim.where(this.db).set({ response_status: 409, response_body: JSON.stringify(refusal) }).execute()
    } else {
      await this.abandon(claim).catch(() => {})
    }
  }

  /**
   * For work that stores its own success answer on the claimed key in the same atomic statement
   * (one round trip instead of a transaction around two); refusals and failures are handled here.
   */
  async completeInline<T>(claim: Claim, work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      await this.settleFailure(claim, err)
      throw err
    }
  }

  /** Frees a claimed key whose request was refused before its work began. */
  async abandon(claim: Claim): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('user_id', '=', claim.userId)
      .where('route', '=', claim.route)
      .where('key', '=', claim.key)
      .where('response_status', 'is', null)
      .execute()
  }

  /** Runs `work` once per key: a retry replays the first finished answer. */
  async run<T>(
    userId: string,
    route: string,
    key: string | undefined,
    body: unknown,
    work: (trx: Db) => Promise<Answer<T>>,
  ): Promise<Answer<T>> {
    // Without a key the work runs as it is: each use is one atomic statement.
    if (key === undefined) return work(this.db)
    const claimed = await this.begin(userId, route, key, body)
    return claimed instanceof Claim ? this.complete(claimed, work) : (claimed as Answer<T>)
  }

  /** Removes keys past twice their retention. */
  async sweep(): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('created_at', '<', new Date(this.clock.now() - 2 * KEY_RETENTION_MS))
      .execute()
  }

  /** Claims the key, or returns the finished answer to replay; 409 while another request runs it. */
  private async claim(userId: string, route: string, key: string, body: unknown): Promise<Answer | undefined> {
    const now = new Date(this.clock.now())
    const claimed = await this.db
      .insertInto('idempotency_keys')
      .values({ user_id: userId, route, key, request_body: JSON.stringify(body), created_at: now })
      .onConflict((oc) => oc.doNothing())
      .returning('key')
      .executeTakeFirst()
    if (claimed) return undefined
    const row = await this.find(userId, route, key)
    if (!row) return this.claim(userId, route, key, body)
    this.assertSameBody(row.request_body, body)
    if (row.response_status !== null) return this.replay(row)
    if (row.created_at.getTime() < now.getTime() - ABANDONED_AFTER_MS) {
      const taken = await this.db
        .updateTable('idempotency_keys')
        .set({ created_at: now })
        .where('user_id', '=', userId)
        .where('route', '=', route)
        .where('key', '=', key)
        .where('response_status', 'is', null)
        .where('created_at', '=', row.created_at)
        .returning('key')
        .executeTakeFirst()
      if (taken) return undefined
    }
    throw conflict('IDEMPOTENCY_IN_PROGRESS', 'a request with this Idempotency-Key is still running; retry shortly')
  }

  private find(userId: string, route: string, key: string) {
    return this.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .where('route', '=', route)
      .where('key', '=', key)
      .executeTakeFirst()
  }

  private assertSameBody(stored: unknown, body: unknown) {
    if (!isDeepStrictEqual(stored, JSON.parse(JSON.stringify(body ?? null)))) {
      throw new AppError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request body')
    }
  }

  private replay(row: { response_status: number | null; response_body: unknown }): Answer {
    if (row.response_status === 409) {
      const r = row.response_body as StoredRefusal
      throw new AppError(409, r.code, r.detail, r.extra)
    }
    return { status: row.response_status!, body: row.response_body }
  }
}
