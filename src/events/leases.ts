import type { Clock } from '../platform/clock.js'
import type { WebhookRepository } from './webhooks.js'

/**
 * How long a relay's claim lasts unless renewed. While an attempt is in flight its claim is
 * renewed every RENEW_MS, so an attempt may take its whole WEBHOOK_TIMEOUT_MS without another
 * process sending it too, and the claims of a process that died (or stopped) are due again
 * within seconds.
 */
export const LEASE_MS = 5000
/** How often the claims in flight are renewed. */
const RENEW_MS = 1000
/**
 * When renewing fails (the database slow or down), an attempt whose lease has less than this
 * left is cut, so it never runs past its lease while another process may take the delivery.
 */
const CUT_BEFORE_MS = 2 * RENEW_MS

/** A delivery this process has claimed and is sending. */
export interface HeldClaim {
  webhookId: string
  eventId: string
  /** The lease as written in the database: renewing and writing the outcome expect it there. */
  leaseUntil: Date
  /** Aborted when the claim is no longer sure to be this process's: its attempt is cut. */
  readonly lost: AbortController
  ending: boolean
}

const keyOf = (c: { webhookId: string; eventId: string }) => `${c.webhookId} ${c.eventId}`

/**
 * The claims a relay holds while their attempts are in flight, renewed together on a timer. A
 * renewal only moves a lease that is still the one this process wrote; a claim whose lease was
 * taken over (the process stalled past it) is lost, and its attempt is cut and writes nothing.
 */
export class HeldClaims {
  readonly #held = new Map<string, HeldClaim>()
  #timer: NodeJS.Timeout | undefined
  #renewing: Promise<void> | undefined
  /** Told of a renewal that failed (the database down): the next tries again. */
  onError: (err: unknown) => void = () => {}

  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly clock: Clock,
  ) {}

  /** From now on, renews this claim until `end`. */
  hold(webhookId: string, eventId: string, leaseUntil: Date): HeldClaim {
    const held: HeldClaim = { webhookId, eventId, leaseUntil, lost: new AbortController(), ending: false }
    this.#held.set(keyOf(held), held)
    this.#timer ??= setInterval(() => {
      this.#renewing ??= this.renew().finally(() => (this.#renewing = undefined))
    }, RENEW_MS)
    return held
  }

  /** Stops renewing the claim, once a renewal under way has finished; its lease is then as `held.leaseUntil` says. */
  async end(held: HeldClaim): Promise<void> {
    held.ending = true
    await this.#renewing
    this.#held.delete(keyOf(held))
    if (this.#held.size === 0) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  private async renew(): Promise<void> {
    const claims = [...this.#held.values()].filter((h) => !h.ending)
    if (claims.length === 0) return
    const until = new Date(this.clock.now() + LEASE_MS)
    try {
      const renewed = new Set((await this.webhooks.renew(claims, until)).map(keyOf))
      for (const held of claims) {
        if (renewed.has(keyOf(held))) held.leaseUntil = until
        else held.lost.abort()
      }
    } catch (err) {
      const now = this.clock.now()
      for (const held of claims) if (held.leaseUntil.getTime() - now < CUT_BEFORE_MS) held.lost.abort()
      this.onError(err)
    }
  }
}
