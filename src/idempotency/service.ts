import { isDeepStrictEqual } from 'node:util'
import type { Kysely } from 'kysely'
import type { Clock } from '../platform/clock.js'
import type { Tx } from '../platform/db/database.js'
import { AppError, type ErrorCode } from '../platform/errors.js'

/** A 409 refusal, kept as it was thrown so a retry gets the same problem. */
interface Refusal {
  code: ErrorCode
  detail: string
  extra: Record<string, unknown>
}

/** What a finished request answered: its result, or its 409 refusal. */
type Answer = { ok: unknown } | { refused: Refusal }

interface IdempotencyKeysTable {
  user_id: string
  route: string
  key: string
  request_body: unknown
  /** Null while the first request is still running. */
  answer: Answer | null
  created_at: Date
}

export interface IdempotencyTables {
  idempotency_keys: IdempotencyKeysTable
}

/** A key this request holds while its work runs. */
interface Claim {
  userId: string
  route: string
  key: string
}

/**
 * An Idempotency-Key as a statement that claims it itself takes it (sql/idempotency_claim.sql),
 * with the key's answer written by sql/idempotency_answer.sql in the same statement.
 */
export interface KeyArgs {
  userId: string
  route: string
  key: string
  /** The request body as JSON, compared with the body the key was first used with. */
  body: string
  now: Date
  /** A claim older than this, never answered, belonged to a request that died: it may be taken over. */
  leaseBefore: Date
}

/** What a statement that claims its key answers when the key was taken: it did nothing. */
export const KEY_TAKEN: unique symbol = Symbol('key taken')

/** Keys are kept at least this long (the sweep removes them after twice that). */
const KEY_RETENTION_MS = 24 * 3600 * 1000

/**
 * `Idempotency-Key`, scoped to the user and the route. The key is claimed first (so a retry
 * while the first request runs is 409), then the work and the stored answer commit in one
 * transaction: a replay can never disagree with what happened. A 409 refusal is a finished
 * answer too and is replayed; any other failure frees the key for a retry.
 */
export class IdempotencyService {
  constructor(
    private readonly db: Kysely<IdempotencyTables>,
    private readonly clock: Clock,
    /**
     * How long a claim holds its key: a key whose first request died (with its process) is free
     * for a retry after this. Longer than any live request can take, since every wait it makes
     * is bounded.
     */
    private readonly leaseMs: number,
  ) {}

  /**
   * Runs `work` once per key: a retry with the same body replays the first answer (a stored
   * refusal is thrown again); another body is 422; a retry while the first runs is 409. Without
   * a key the work runs as it is, on the database itself.
   */
  async run<T>(userId: string, route: string, key: string | undefined, body: unknown, work: (trx: Tx) => Promise<T>): Promise<T> {
    if (key === undefined) return work(this.db)
    const claim: Claim = { userId, route, key }
    const previous = await this.claim(claim, body)
    if (previous) return replay(previous) as T
    try {
      return await this.db.transaction().execute(async (trx) => {
        const result = await work(trx)
        await this.keyOf(claim, trx)
          .set({ answer: JSON.stringify({ ok: result }) as never })
          .execute()
        return result
      })
    } catch (err) {
      await this.failed(claim, err)
      throw err
    }
  }

  /**
   * `run` for work that is one statement claiming the key itself, given `key` (sql/idempotency_claim.sql,
   * and sql/idempotency_answer.sql for its answer): one round trip and one commit instead of a
   * claim, a transaction and its answer. A twin arriving while it runs waits for that statement and
   * then replays its answer. `work` returns KEY_TAKEN when its statement found the key taken (it did
   * nothing then), and throws an AppError only as the refusal of work it claimed the key for: a
   * 409 is kept as `run` keeps one, and any other frees the key. Says whether the answer is a replay.
   */
  async once<T>(
    userId: string,
    route: string,
    key: string | undefined,
    body: unknown,
    work: (key: KeyArgs | undefined) => Promise<T | typeof KEY_TAKEN>,
  ): Promise<{ answer: T; replayed: boolean }> {
    const now = new Date(this.clock.now())
    const claim: Claim | undefined = key === undefined ? undefined : { userId, route, key }
    let done: T | typeof KEY_TAKEN
    try {
      done = await work(claim && { ...claim, body: JSON.stringify(body), now, leaseBefore: new Date(now.getTime() - this.leaseMs) })
    } catch (err) {
      if (claim && err instanceof AppError) await this.failed(claim, err)
      throw err
    }
    if (done !== KEY_TAKEN) return { answer: done, replayed: false }
    const row = claim && (await this.find(claim))
    if (row) assertSameBody(row.request_body, body)
    if (row?.answer) return { answer: replay(row.answer) as T, replayed: true }
    throw inProgress()
  }

  /**
   * The finished answer of this key, if there is one; for a request that must check its key
   * before anything else (a payment retry is replayed before the queue gate).
   */
  async finished<T>(userId: string, route: string, key: string | undefined, body: unknown): Promise<T | undefined> {
    if (key === undefined) return undefined
    const row = await this.find({ userId, route, key })
    if (!row?.answer) return undefined
    assertSameBody(row.request_body, body)
    return replay(row.answer) as T
  }

  /** Removes keys past twice their retention. */
  async sweep(): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('created_at', '<', new Date(this.clock.now() - 2 * KEY_RETENTION_MS))
      .execute()
  }

  /** Claims the key, or returns the finished answer to replay; 409 while another request runs it. */
  private async claim(claim: Claim, body: unknown): Promise<Answer | undefined> {
    const now = new Date(this.clock.now())
    const claimed = await this.db
      .insertInto('idempotency_keys')
      .values({
        user_id: claim.userId,
        route: claim.route,
        key: claim.key,
        request_body: JSON.stringify(body),
        answer: null,
        created_at: now,
      })
      .onConflict((oc) => oc.doNothing())
      .returning('key')
      .executeTakeFirst()
    if (claimed) return undefined
    const row = await this.find(claim)
    if (!row) return this.claim(claim, body)
    assertSameBody(row.request_body, body)
    if (row.answer !== null) return row.answer
    if (row.created_at.getTime() < now.getTime() - this.leaseMs) {
      const taken = await this.keyOf(claim)
        .set({ created_at: now })
        .where('answer', 'is', null)
        .where('created_at', '=', row.created_at)
        .returning('key')
        .executeTakeFirst()
      if (taken) return undefined
    }
    throw inProgress()
  }

  /** After the work of a claimed key failed: a 409 refusal is its answer; any other failure frees the key for a retry. */
  private async failed(claim: Claim, err: unknown): Promise<void> {
    if (err instanceof AppError && err.status === 409) {
      const refused: Refusal = { code: err.code, detail: err.detail, extra: err.extra }
      await this.keyOf(claim)
        .set({ answer: JSON.stringify({ refused }) as never })
        .execute()
    } else {
      await this.abandon(claim).catch(() => {})
    }
  }

  /** Frees a claimed key whose request failed before finishing. */
  private async abandon(claim: Claim): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('user_id', '=', claim.userId)
      .where('route', '=', claim.route)
      .where('key', '=', claim.key)
      .where('answer', 'is', null)
      .execute()
  }

  private keyOf(claim: Claim, db: Tx = this.db) {
    return (db as Kysely<IdempotencyTables>)
      .updateTable('idempotency_keys')
      .where('user_id', '=', claim.userId)
      .where('route', '=', claim.route)
      .where('key', '=', claim.key)
  }

  private find(claim: Claim) {
    return this.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('user_id', '=', claim.userId)
      .where('route', '=', claim.route)
      .where('key', '=', claim.key)
      .executeTakeFirst()
  }
}

const inProgress = () => new AppError('IDEMPOTENCY_IN_PROGRESS', 'a request with this Idempotency-Key is still running; retry shortly')

function assertSameBody(stored: unknown, body: unknown) {
  if (!isDeepStrictEqual(stored, JSON.parse(JSON.stringify(body ?? null)))) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request body')
  }
}

function replay(answer: Answer): unknown {
  if ('refused' in answer) throw new AppError(answer.refused.code, answer.refused.detail, answer.refused.extra)
  return answer.ok
}
