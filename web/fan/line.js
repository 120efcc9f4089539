import { Problem, request } from '../shared/api.js'
import { html, useEffect, useRef, useState } from '../shared/html.js'
import { formatNumber } from '../shared/i18n.js'
import { waitWords } from './strings.js'

/**
 * @import { Lang } from '../shared/i18n.js'
 * @import { Strings } from './strings.js'
 */

/**
 * A place in line as `GET /v1/queue/status` (and joining) answers it.
 * @typedef {object} QueueStatus
 * @property {string} token
 * @property {string} concertId
 * @property {'WAITING' | 'ACTIVE' | 'EXPIRED' | 'SOLD_OUT'} status
 * @property {number | null} position 1 = next in line; 0 when ACTIVE; null in the pre-queue and when EXPIRED
 * @property {number | null} etaSeconds
 * @property {number | null} pollAfterMs when to ask again
 * @property {number | null} pollBeforeMs
 * @property {string | null} activeUntil
 * @property {number} availableSeats
 */

/**
 * Told once the place has ended: the last answer (EXPIRED) or the refusal, and whether the fan had
 * been admitted.
 * @typedef {(last: QueueStatus | Problem, wasActive: boolean) => void} OnEnded
 */

/** Asked again after a failed poll when the server named no wait. */
const RETRY_MS = 5000

/**
 * When to ask again after this answer: as `pollAfterMs` says; while the page is out of sight and
 * the fan is not admitted, as late as the place allows (`pollBeforeMs`), so a hidden tab costs the
 * line little and still keeps its place.
 * @param {QueueStatus} status
 */
const nextPollMs = (status) => {
  const after = status.pollAfterMs ?? RETRY_MS
  return document.hidden && status.status !== 'ACTIVE' && status.pollBeforeMs ? Math.max(after, status.pollBeforeMs) : after
}

/**
 * Polls the line's status with this token, as often as each answer's `pollAfterMs` says. Once the
 * token has ended (EXPIRED, or refused as invalid) `onEnded` gets that answer and whether the fan
 * had been admitted.
 * @param {string} token
 * @param {QueueStatus | undefined} initial the join's answer, when the fan has just joined
 * @param {OnEnded} onEnded
 */
export function useQueueStatus(token, initial, onEnded) {
  const [status, setStatus] = useState(initial)
  const [trouble, setTrouble] = useState(/** @type {Problem | undefined} */ (undefined))
  const latest = useRef({ onEnded, wasActive: false })
  latest.current = { onEnded, wasActive: status?.status === 'ACTIVE' }
  useEffect(() => {
    const end = (/** @type {QueueStatus | Problem} */ last) => latest.current.onEnded(last, latest.current.wasActive)
    /** @type {number | undefined} */
    let timer
    let stopped = false
    let asking = false
    const poll = async () => {
      asking = true
      try {
        const next = /** @type {QueueStatus} */ (await request('GET', '/v1/queue/status', { headers: { 'queue-token': token } }))
        if (stopped) return
        setStatus(next)
        setTrouble(undefined)
        if (next.status === 'EXPIRED') return end(next)
        timer = setTimeout(poll, nextPollMs(next))
      } catch (err) {
        if (stopped) return
        if (err instanceof Problem && err.status === 401) return end(err)
        const problem = /** @type {Problem} */ (err)
        setTrouble(problem)
        timer = setTimeout(poll, problem.retryAfterS ? problem.retryAfterS * 1000 : RETRY_MS)
      } finally {
        asking = false
      }
    }
    // Back in sight: ask at once rather than at the end of a long hidden wait.
    const shown = () => {
      if (document.hidden || asking || stopped) return
      clearTimeout(timer)
      poll()
    }
    document.addEventListener('visibilitychange', shown)
    // A fresh join's answer is already a status: the first poll waits as that answer says.
    timer = initial ? setTimeout(poll, nextPollMs(initial)) : setTimeout(poll, 0)
    return () => {
      stopped = true
      clearTimeout(timer)
      document.removeEventListener('visibilitychange', shown)
    }
  }, [token])
  return { status, trouble }
}

/**
 * The place in line (a status region), the wait, progress since joining, and what to do. Before
 * admission starts (at the presale, on a concert with one) the wait counts to that.
 * @param {{ t: Strings, lang: Lang, status: QueueStatus | undefined, first: number | null, trouble: Problem | undefined, presale: boolean }} props
 */
export function WaitingView({ t, lang, status, first, trouble, presale }) {
  const preQueue = status?.status === 'WAITING' && status.position === null
  const soldOut = status?.status === 'SOLD_OUT'
  const position = status?.position ?? 0
  return html`
    <section class="waiting">
      <div role="status" class="place">
        ${!status && t.loading}
        ${status?.status === 'WAITING' && position > 0 && html`<strong>${t.placeInLine(formatNumber(lang, position))}</strong>`}
        ${preQueue && (presale ? t.preQueuePresale : t.preQueue)}
        ${soldOut && t.soldOutWaiting}
      </div>
      ${
        status?.status === 'WAITING' &&
        status.etaSeconds !== null &&
        html`<p>${preQueue ? (presale ? t.presaleIn : t.saleIn)(waitWords(t, status.etaSeconds)) : t.eta(waitWords(t, status.etaSeconds))}</p>`
      }
      ${position > 0 && first !== null && first > 0 && html`<progress aria-label=${t.progressLabel} max=${first} value=${Math.max(0, first - position)}></progress>`}
      ${typeof status?.availableSeats === 'number' && html`<p>${t.seatsLeft(formatNumber(lang, status.availableSeats))}</p>`}
      <p class="keep-open">${t.keepOpen}</p>
      ${trouble && html`<p class="note">${t.connectionTrouble}</p>`}
    </section>
  `
}
