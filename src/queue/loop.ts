import type { CatalogService } from '../catalog/service.js'
import type { Clock } from '../shared/clock.js'
import type { WaitingRoom } from './service.js'
import type { QueueSettingsService } from './settings.js'
import type { WaitingRoomStore } from './store.js'

/**
 * One admission pass over every concert whose sale is open. Every process runs it; the store
 * lets one tick per window through, so admission keeps its rate however many run. It is needed
 * for admission to move, never for correctness: every deadline is also checked where the token
 * is used.
 */
export class AdmissionLoop {
  constructor(
    private readonly store: WaitingRoomStore,
    private readonly settings: QueueSettingsService,
    private readonly catalog: CatalogService,
    private readonly waitingRoom: WaitingRoom,
    private readonly clock: Clock,
  ) {}

  /** A quarter of the shortest tick: admission starts within that of each window's opening. */
  periodMs(): number {
    return Math.max(10, Math.min(250, Math.floor(this.settings.refreshMs / 4)))
  }

  async runOnce(): Promise<void> {
    await this.settings.refresh()
    const now = this.clock.now()
    for (const concert of await this.catalog.listConcerts()) {
      if (concert.saleOpensAt && concert.saleOpensAt.getTime() > now) continue
      const limits = await this.settings.limits(concert.concertId)
      const result = await this.store.tick(concert.concertId, now, limits)
      if (result.ran) await this.waitingRoom.refreshRecentAdmissions(concert.concertId, now)
    }
  }
}
