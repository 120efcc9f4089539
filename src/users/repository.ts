import type { Kysely } from 'kysely'
import { newId } from '../platform/ids.js'

interface UsersTable {
  id: string
  /** The identity provider's issuer and subject of a user who signs in there; null for a demo sign-up. */
  idp_issuer: string | null
  idp_subject: string | null
  created_at: Date
}

export interface UserTables {
  users: UsersTable
}

/** The users table: demo sign-ups, and the identity provider's people as they first appear. */
export class UserRepository {
  constructor(private readonly db: Kysely<UserTables>) {}

  async create(now: number): Promise<string> {
    const id = newId('usr', now)
    await this.db
      .insertInto('users')
      .values({ id, idp_issuer: null, idp_subject: null, created_at: new Date(now) })
      .execute()
    return id
  }

  async exists(userId: string): Promise<boolean> {
    const row = await this.db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst()
    return row !== undefined
  }

  /**
   * The user of an identity, created on its first sight. A returning user costs one select; two
   * first requests racing each other insert once, and the loser reads the winner's row.
   */
  async ofIdentity(issuer: string, subject: string, now: number): Promise<string> {
    const known = await this.#find(issuer, subject)
    if (known) return known
    const inserted = await this.db
      .insertInto('users')
      .values({ id: newId('usr', now), idp_issuer: issuer, idp_subject: subject, created_at: new Date(now) })
      .onConflict((oc) => oc.columns(['idp_issuer', 'idp_subject']).doNothing())
      .returning('id')
      .executeTakeFirst()
    if (inserted) return inserted.id
    const winner = await this.#find(issuer, subject)
    if (!winner) throw new Error('a user inserted by a concurrent first sign-in is not visible')
    return winner
  }

  async #find(issuer: string, subject: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('users')
      .select('id')
      .where('idp_issuer', '=', issuer)
      .where('idp_subject', '=', subject)
      .executeTakeFirst()
    return row?.id
  }
}
