import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Clock } from '../platform/clock.js'
import { AppError, notFound } from '../platform/errors.js'
import type { AccessTokens } from '../users/access-tokens.js'
import { authenticateThen } from '../users/hooks.js'
import type { QueueSettingsService } from './settings.js'
import type { QueueStore } from './store.js'
import type { QueueClaims, QueueTokens } from './tokens.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the gated hook: the validly signed Queue-Token. */
    queueClaims: QueueClaims | undefined
  }
}

declare const sealed: unique symbol
declare const admittedBrand: unique symbol

/**
 * What the gated hook verified: a user and a validly signed Queue-Token, not yet checked against
 * any concert. Sealed: only the gate reads it, so a use case learns who asks (and for which
 * queue token) only from the `Admitted` the gate gives back.
 */
export interface Credentials {
  readonly [sealed]: true
}

/**
 * Proof that the gate let this user in for this concert, now: what every gated use case hands
 * to what the gate protects (a hold, a payment, the seat map and the bookable dates). Only
 * `QueueGate` makes one; a route or use case that skips the gate has none to give.
 */
export interface Admitted {
  readonly userId: string
  readonly concertId: string
  readonly claims: QueueClaims
  readonly [admittedBrand]: true
}

interface Unsealed {
  userId: string
  claims: QueueClaims
}
const seal = (credentials: Unsealed) => credentials as unknown as Credentials
const unseal = (credentials: Credentials) => credentials as unknown as Unsealed
const admitted = (userId: string, concertId: string, claims: QueueClaims) => ({ userId, concertId, claims }) as unknown as Admitted

/** The credentials of a request that passed `gatedHook`. */
export function credentialsOf(request: FastifyRequest): Credentials {
  if (!request.queueClaims) throw new Error(`${request.routeOptions.url} is gated but has no gatedHook`)
  return seal({ userId: request.userId, claims: request.queueClaims })
}

/** onRequest hook of a gated route, the gate's first step (see `QueueGate`). */
export const gatedHook =
  (accessTokens: AccessTokens, gate: QueueGate) => (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) =>
    authenticateThen(accessTokens, request, done, () => {
      try {
        request.queueClaims = gate.verify(request.headers['queue-token'] as string | undefined)
      } catch (err) {
        return done(err as Error)
      }
      done()
    })

/** What a payment's gate needs to know of the reservation it pays. */
export interface HoldToPay {
  status: string
  queueTokenId: string | null
  concertId: string
}

const queueTokenEnded = () => new AppError('QUEUE_TOKEN_EXPIRED', 'the queue token has ended; join the queue again')

/**
 * The waiting room's gate, in two steps. `gatedHook` runs before the body is read: a valid Bearer
 * token and a validly signed Queue-Token, else 401. The use case then finds the resource's concert
 * and asks `admit`, which decides 404 and 403 and slides the admission (one store round trip),
 * and answers with the `Admitted` that the gated work takes.
 */
export class QueueGate {
  private readonly store: QueueStore
  private readonly settings: QueueSettingsService
  private readonly tokens: QueueTokens
  private readonly clock: Clock

  constructor(parts: { store: QueueStore; settings: QueueSettingsService; tokens: QueueTokens; clock: Clock }) {
    this.store = parts.store
    this.settings = parts.settings
    this.tokens = parts.tokens
    this.clock = parts.clock
  }

  /** The claims of a validly signed Queue-Token header; 401 otherwise. */
  verify(queueToken: string | undefined): QueueClaims {
    return this.tokens.verify(queueToken)
  }

  /** The credentials of a user and a Queue-Token header, for a use case that verifies the header itself; 401 if unsigned. */
  credentials(userId: string, queueToken: string | undefined): Credentials {
    return seal({ userId, claims: this.tokens.verify(queueToken) })
  }

  /** The concert a queue token was issued for: a label to count the request under, not proof of admission. */
  concertOf(credentials: Credentials): string {
    return unseal(credentials).claims.concertId
  }

  /**
   * The gate, after the credentials are verified: the resource's concert (undefined when the
   * resource does not exist) decides 404 and 403; an admitted token slides its expiry. Costs one
   * store round trip when the request is allowed. With `mayPayHoldsOfEndedToken`, a token that
   * ended by its payment or its hard limit passes too (the caller pays only holds taken under it).
   */
  async admit(
    credentials: Credentials,
    concertId: string | undefined,
    options: { mayPayHoldsOfEndedToken?: boolean } = {},
  ): Promise<Admitted> {
    const { userId, claims } = unseal(credentials)
    const now = this.clock.now()
    if (concertId === undefined || claims.userId !== userId || claims.concertId !== concertId) {
      // Refusals still check the token first: an ended token is 401 before any 404 or 403.
      const state = await this.store.peek(claims.concertId, claims.tokenId, now)
      if (state.state === 'EXPIRED') throw queueTokenEnded()
      if (concertId === undefined) throw notFound('resource')
      if (claims.userId !== userId) throw new AppError('QUEUE_TOKEN_NOT_YOURS', 'the queue token belongs to another user')
      throw new AppError('QUEUE_TOKEN_WRONG_CONCERT', 'the queue token is for another concert')
    }
    const state = options.mayPayHoldsOfEndedToken
      ? await this.store.peek(concertId, claims.tokenId, now)
      : await this.store.touch(concertId, claims.tokenId, now, await this.settings.of(concertId))
    switch (state.state) {
      case 'ACTIVE':
        return admitted(userId, concertId, claims)
      case 'EXPIRED':
        if (options.mayPayHoldsOfEndedToken && (state.reason === 'PAID' || state.reason === 'HARD_LIMIT')) {
          return admitted(userId, concertId, claims)
        }
        throw queueTokenEnded()
      case 'WAITING':
        throw new AppError('QUEUE_NOT_ADMITTED', `not admitted yet: position ${state.position}`, { position: state.position })
    }
  }

  /**
   * The gate of a payment in the common case, by one store read: a validly signed token of this
   * user that is ACTIVE. Undefined for anything else (no token or an unsigned one, another user's,
   * one not ACTIVE, a store that does not answer): the payment then checks its key for a replay
   * first and goes through `admitToPay`, which decides each of those.
   */
  async activeToPay(userId: string, queueToken: string | undefined): Promise<Admitted | undefined> {
    let claims: QueueClaims
    try {
      claims = this.tokens.verify(queueToken)
    } catch {
      return undefined
    }
    if (claims.userId !== userId) return undefined
    const state = await this.store.peek(claims.concertId, claims.tokenId, this.clock.now()).catch(() => undefined)
    return state?.state === 'ACTIVE' ? admitted(userId, claims.concertId, claims) : undefined
  }

  /**
   * The gate of a payment, with its one exception for money: a token that ended by its payment or
   * its hard limit may still pay the live holds taken under it. The common case costs one store
   * read: an ACTIVE token of this user. When the store does not answer, a live hold this user took
   * under this very token proves the admission, so money still moves with the database alone.
   * The admitted concert is checked against the reservation's inside the payment (403).
   */
  async admitToPay(credentials: Credentials, reservation: () => Promise<HoldToPay | undefined>): Promise<Admitted> {
    const { userId, claims } = unseal(credentials)
    let active: boolean
    try {
      active = claims.userId === userId && (await this.store.peek(claims.concertId, claims.tokenId, this.clock.now())).state === 'ACTIVE'
    } catch (err) {
      const hold = await reservation()
      const provesAdmission =
        claims.userId === userId && hold?.status === 'HELD' && hold.queueTokenId === claims.tokenId && hold.concertId === claims.concertId
      if (provesAdmission) return admitted(userId, claims.concertId, claims)
      throw err
    }
    if (active) return admitted(userId, claims.concertId, claims)
    const hold = await reservation()
    const heldUnderThisToken = hold?.status === 'HELD' && hold.queueTokenId === claims.tokenId
    return this.admit(credentials, hold?.concertId, { mayPayHoldsOfEndedToken: heldUnderThisToken })
  }
}
