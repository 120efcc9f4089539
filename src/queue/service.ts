import { randomInt } from 'node:crypto'
import type { CatalogService, Concert } from '../catalog/service.js'
import type { Cache } from '../cache/cache.js'
import type { Clock } from '../shared/clock.js'
import { AppError, conflict, notFound } from '../shared/errors.js'
import { newId } from '../shared/ids.js'
import type { EffectiveQueueConfig, QueueOverrides, QueueSettingsService } from './settings.js'
import type { AdmissionLimits, EntryState, QueueFigures, WaitingRoomStore } from './store.js'
import type { QueueClaims, QueueTokens } from './tokens.js'

export type QueueStatusKind = 'WAITING' | 'ACTIVE' | 'EXPIRED'

export interface QueueStatus {
  token: string
  concertId: string
  status: QueueStatusKind
  position: number | null
  etaSeconds: number | null
  pollAfterMs: number | null
  activeUntil: Date | null
}

export interface QueueReport extends QueueFigures {
  config: EffectiveQueueConfig
}

const RECENT_TTL_MS = 1000
const recentKey = (concertId: string) => `recent:${concertId}`
const MIN_POLL_MS = 1000
const MAX_POLL_MS = 30_000
/** Pre-queue order keys: random negatives, so the pre-queue sorts ahead of every later join. */
const PREQUEUE_KEY_RANGE = 2 ** 48 - 1

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value))

/**
 * The waiting room: joining, status, leaving, the gate, and the operators' view. The store keeps
 * all state, so any number of processes serve the same queue.
 */
export class WaitingRoom {
  constructor(
    private readonly store: WaitingRoomStore,
    private readonly settings: QueueSettingsService,
    private readonly catalog: CatalogService,
    private readonly tokens: QueueTokens,
    private readonly clock: Clock,
    /** This process's copy of each concert's recent admissions, for the observed rate in ETAs. */
    private readonly local: Cache,
  ) {}

  async join(userId: string, concertId: string): Promise<{ created: boolean; status: QueueStatus }> {
    const concert = await this.concert(concertId)
    const now = this.clock.now()
    if (concert.queueOpensAt && now < concert.queueOpensAt.getTime()) {
      throw conflict('QUEUE_NOT_OPEN', `the queue opens at ${concert.queueOpensAt.toISOString()}`, {
        queueOpensAt: concert.queueOpensAt.toISOString(),
      })
    }
    const prequeueKey = this.inPrequeue(concert, now) ? -randomInt(1, PREQUEUE_KEY_RANGE) : null
    const limits = await this.settings.limits(concertId)
    const joined = await this.store.join(concertId, userId, newId('qt', now), prequeueKey, now, limits)
    const token = this.tokens.issue({ userId, concertId, tokenId: joined.tokenId }, joined.joinedAt)
    return { created: joined.created, status: await this.view(token, concert, joined.state, now, limits) }
  }

  async status(token: string | string[] | undefined): Promise<QueueStatus> {
    const claims = this.tokens.verify(token)
    const concert = await this.concert(claims.concertId)
    const limits = await this.settings.limits(claims.concertId)
    const now = this.clock.now()
    const state = await this.store.status(claims.concertId, claims.tokenId, now, limits)
    return this.view(token as string, concert, state, now, limits)
  }

  /** Leaves the line or gives up the active slot. Leaving twice is not an error. */
  async leave(token: string | string[] | undefined): Promise<void> {
    const claims = this.tokens.verify(token)
    await this.end(claims, 'LEFT')
  }

  /** Ends a token after its payment and frees its slot at once. */
  async endAfterPayment(claims: QueueClaims): Promise<void> {
    await this.end(claims, 'PAID')
  }

  verifyToken(header: string | string[] | undefined): QueueClaims {
    return this.tokens.verify(header)
  }

  /**
   * The gate, after the credentials are verified: the resource's concert (undefined when the
   * resource does not exist) decides 404 and 403; an admitted token slides its expiry. Costs one
   * store round trip when the request is allowed.
   */
  async admit(
    claims: QueueClaims,
    userId: string,
    concertId: string | undefined,
    options: { endedTokenMayPay?: boolean; slide?: boolean } = {},
  ): Promise<void> {
    const now = this.clock.now()
    if (concertId === undefined || claims.userId !== userId || claims.concertId !== concertId) {
      // Refusals still check the token first: an ended token is 401 before any 404 or 403.
      const state = await this.store.peek(claims.concertId, claims.tokenId, now)
      if (state.state === 'ENDED') throw queueTokenEnded()
      if (concertId === undefined) throw notFound('resource')
      if (claims.userId !== userId) {
        throw new AppError(403, 'QUEUE_TOKEN_NOT_YOURS', 'the queue token belongs to another user')
      }
      throw new AppError(403, 'QUEUE_TOKEN_WRONG_CONCERT', 'the queue token is for another concert')
    }
    const limits = await this.settings.limits(concertId)
    const state =
      options.slide === false
        ? await this.store.peek(concertId, claims.tokenId, now)
        : await this.store.touch(concertId, claims.tokenId, now, limits)
    // An ended token (by a payment, or by the hard limit mid-purchase) may still pay the live holds
    // taken under it; the caller has checked that the hold is live and was taken with this token.
    if (state.state === 'ENDED' && options.endedTokenMayPay) return
    if (state.state === 'ENDED') throw queueTokenEnded()
    if (state.state === 'WAITING') {
      throw new AppError(403, 'QUEUE_NOT_ADMITTED', `not admitted yet: position ${state.position}`, {
        position: state.position,
      })
    }
  }

  /** Whether the token is this user's and ACTIVE, without sliding it (one store read). */
  async isActive(claims: QueueClaims, userId: string): Promise<boolean> {
    if (claims.userId !== userId) return false
    return (await this.store.peek(claims.concertId, claims.tokenId, this.clock.now())).state === 'ACTIVE'
  }

  async report(concertId: string): Promise<QueueReport> {
    await this.concert(concertId)
    const config = await this.settings.config(concertId)
    const figures = await this.store.figures(concertId, this.clock.now(), await this.settings.limits(concertId))
    return { ...figures, config }
  }

  async configure(concertId: string, patch: QueueOverrides): Promise<EffectiveQueueConfig> {
    await this.concert(concertId)
    return this.settings.update(concertId, patch)
  }

  private async end(claims: QueueClaims, reason: 'LEFT' | 'PAID') {
    const limits = await this.settings.limits(claims.concertId)
    await this.store.end(claims.concertId, claims.tokenId, reason, this.clock.now(), limits)
  }

  private async concert(concertId: string): Promise<Concert> {
    const concert = await this.catalog.getConcertCached(concertId)
    if (!concert) throw notFound('concert')
    return concert
  }

  private inPrequeue(concert: Concert, now: number) {
    return concert.saleOpensAt !== null && now < concert.saleOpensAt.getTime()
  }

  private async view(token: string, concert: Concert, state: EntryState, now: number, limits: AdmissionLimits): Promise<QueueStatus> {
    const base = { token, concertId: concert.concertId }
    const pollCap = Math.min(MAX_POLL_MS, Math.floor(limits.waitingIdleMs / 3))
    switch (state.state) {
      case 'ENDED':
        return { ...base, status: 'EXPIRED', position: null, etaSeconds: null, pollAfterMs: null, activeUntil: null }
      case 'ACTIVE':
        return {
          ...base,
          status: 'ACTIVE',
          position: 0,
          etaSeconds: 0,
          pollAfterMs: clamp(Math.floor((state.activeUntil - now) / 2), MIN_POLL_MS, MAX_POLL_MS),
          activeUntil: new Date(state.activeUntil),
        }
      case 'WAITING': {
        if (this.inPrequeue(concert, now)) {
          const untilSale = concert.saleOpensAt!.getTime() - now
          return {
            ...base,
            status: 'WAITING',
            position: null,
            etaSeconds: Math.ceil(untilSale / 1000),
            pollAfterMs: clamp(untilSale, MIN_POLL_MS, pollCap),
            activeUntil: null,
          }
        }
        const perSecond = await this.admissionRate(concert.concertId, now, limits)
        const etaSeconds = Math.ceil(state.position / perSecond)
        return {
          ...base,
          status: 'WAITING',
          position: state.position,
          etaSeconds,
          // Near the front, ask often; far back, rarely — but always before the idle limit.
          pollAfterMs: clamp(Math.floor((etaSeconds * 1000) / 4), MIN_POLL_MS, pollCap),
          activeUntil: null,
        }
      }
    }
  }

  /**
   * Admissions per second: observed over the last minute, else what the settings promise
   * (for `cap`, the slots turning over once per idle period).
   */
  private async admissionRate(concertId: string, now: number, limits: AdmissionLimits): Promise<number> {
    const recent = await this.local.get(recentKey(concertId), RECENT_TTL_MS, () => this.store.recentAdmissions(concertId, now))
    if (recent.admittedLastMinute > 0 && recent.firstAdmittedAt !== null) {
      const windowMs = clamp(now - recent.firstAdmittedAt + limits.tickMs, limits.tickMs, 60_000)
      return (recent.admittedLastMinute * 1000) / windowMs
    }
    if (limits.strategy === 'cap') return (limits.maxActive * 1000) / limits.activeIdleMs
    return (limits.admitPerTick * 1000) / limits.tickMs
  }

  /** Fresh admission counts after a tick, so ETAs follow the observed rate. */
  async refreshRecentAdmissions(concertId: string, now: number) {
    await this.local.invalidate(recentKey(concertId))
    await this.local.get(recentKey(concertId), RECENT_TTL_MS, () => this.store.recentAdmissions(concertId, now))
  }
}

const queueTokenEnded = () => new AppError(401, 'QUEUE_TOKEN_EXPIRED', 'the queue token has ended; join the queue again')
