import type { Clock } from '../platform/clock.js'
import { AppError } from '../platform/errors.js'
import type { AccessTokens } from './access-tokens.js'
import type { UserRepository } from './repository.js'

/** Who the fans are: demo sign-up creates a user and issues its access token, unless sign-up is off. */
export class UserService {
  private readonly users: UserRepository
  private readonly accessTokens: AccessTokens
  private readonly clock: Clock
  private readonly signup: 'open' | 'off'

  constructor(parts: { users: UserRepository; accessTokens: AccessTokens; clock: Clock; signup: 'open' | 'off' }) {
    this.users = parts.users
    this.accessTokens = parts.accessTokens
    this.clock = parts.clock
    this.signup = parts.signup
  }

  async signUp(): Promise<{ userId: string; accessToken: string }> {
    if (this.signup === 'off') throw new AppError('SIGNUP_DISABLED', 'demo sign-up is off: sign in with the identity provider')
    const userId = await this.users.create(this.clock.now())
    return { userId, accessToken: this.accessTokens.issue(userId) }
  }
}
