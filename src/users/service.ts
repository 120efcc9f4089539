import type { Kysely } from 'kysely'
import type { Clock } from '../platform/clock.js'
import { newId } from '../platform/ids.js'
import type { AccessTokens } from './access-tokens.js'

interface UsersTable {
  id: string
  created_at: Date
}

export interface UserTables {
  users: UsersTable
}

/** Who the fans are: demo sign-up creates a user and issues its access token. */
export class UserService {
  constructor(
    private readonly db: Kysely<UserTables>,
    private readonly accessTokens: AccessTokens,
    private readonly clock: Clock,
  ) {}

  async signUp(): Promise<{ userId: string; accessToken: string }> {
    const now = this.clock.now()
    const userId = newId('usr', now)
    await this.db
      .insertInto('users')
      .values({ id: userId, created_at: new Date(now) })
      .execute()
    return { userId, accessToken: this.accessTokens.issue(userId) }
  }
}
