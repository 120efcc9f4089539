import type { FastifyBaseLogger } from 'fastify'
import type { CatalogService } from '../catalog/service.js'
import type { Clock } from '../shared/clock.js'
import type { WaitingRoom } from './service.js'
import type { QueueSettingsService } from './settings.js'
import type { WaitingRoomStore } from './store.js'

/**
 * Every process runs this loop; the store lets one tick per window through, so admission keeps
 * its rate however many run. It is needed for admission to move, never for correctness: every
 * deadline is also checked where the token is used.
 */
export class AdmissionLoop {
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined

  constructor(
    private readonly store: WaitingRoomStore,
    private readonly settings: QueueSettingsService,
    private readonly catalog: CatalogService,
    private readonly waitingRoom: WaitingRoom,
    private readonly clock: Clock,
    private readonly log: FastifyBaseLogger,
  ) {}

  start() {
    const schedule = () => {
      // A quarter of the shortest tick: admission starts within that of each window's opening.
      const period = Math.max(10, Math.min(250, Math.floor(this.settings.refreshMs / 4)))
      this.#timer = setTimeout(() => {
        this.#running = this.runOnce()
          .catch((err: unknown) => this.log.warn({ err }, 'admission tick failed'))
          .finally(() => {
            this.#running = undefined
            if (this.#timer) schedule()
          })
      }, period)
    }
    schedule()
  }

  /** Stops the loop and waits for a tick in flight. */
  async stop() {
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running
  }

  /** One pass over every concert whose sale is open. */
  async runOnce(): Promise<void> {
    await this.settings.refresh()
    const now = this.clock.now()
    for (const concert of await this.catalog.listConcertsCached()) {
      if (concert.saleOpensAt && concert.saleOpensAt.getTime() > now) continue
      const limits = await this.settings.limits(concert.concertId)
      const result = await this.store.tick(concert.concertId, now, limits)
      if (result.ran) await this.waitingRoom.refreshFigures(concert.concertId, now, limits)
    }
  }
}
