import type { Db } from '../db/database.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'

export class UserService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async create(): Promise<string> {
    const now = this.clock.now()
    const id = newId('usr', now)
    await this.db.insertInto('users').values({ id, created_at: new Date(now) }).execute()
    return id
  }
}
