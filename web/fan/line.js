import { Problem, request } from '../shared/api.js'
import { html, useEffect, useRef, useState } from '../shared/html.js'
import { formatNumber } from '../shared/i18n.js'
import { waitWords } from './strings.js'

/** Asked again after a failed poll when the server named no wait. */
const RETRY_MS = 5000

/**
 * Polls the line's status with this token, as often as each answer's `pollAfterMs` says. Once the
 * token has ended (EXPIRED, or refused as invalid) `onEnded` gets that answer and whether the fan
 * had been admitted.
 */
export function useQueueStatus(token, initial, onEnded) {
  const [status, setStatus] = useState(initial)
  const [trouble, setTrouble] = useState()
  const latest = useRef()
  latest.current = { onEnded, wasActive: status?.status === 'ACTIVE' }
  useEffect(() => {
    const end = (last) => latest.current.onEnded(last, latest.current.wasActive)
    let timer
    let stopped = false
    const poll = async () => {
      try {
        const next = await request('GET', '/v1/queue/status', { headers: { 'queue-token': token } })
        if (stopped) return
        setStatus(next)
        setTrouble(undefined)
        if (next.status === 'EXPIRED') return end(next)
        timer = setTimeout(poll, next.pollAfterMs ?? RETRY_MS)
      } catch (err) {
        if (stopped) return
        if (err instanceof Problem && err.status === 401) return end(err)
        setTrouble(err)
        timer = setTimeout(poll, err.retryAfterS ? err.retryAfterS * 1000 : RETRY_MS)
      }
    }
    // A fresh join's answer is already a status: the first poll waits as that answer says.
    timer = initial ? setTimeout(poll, initial.pollAfterMs ?? RETRY_MS) : setTimeout(poll, 0)
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [token])
  return { status, trouble }
}

/** The place in line (a status region), the wait, progress since joining, and what to do. */
export function WaitingView({ t, lang, status, first, trouble }) {
  const preQueue = status?.status === 'WAITING' && status.position === null
  const soldOut = status?.status === 'SOLD_OUT'
  const position = status?.position
  return html`
    <section class="waiting">
      <div role="status" class="place">
        ${!status && t.loading}
        ${status?.status === 'WAITING' && position > 0 && html`<strong>${t.placeInLine(formatNumber(lang, position))}</strong>`}
        ${preQueue && t.preQueue}
        ${soldOut && t.soldOutWaiting}
      </div>
      ${
        status?.status === 'WAITING' &&
        status.etaSeconds !== null &&
        html`<p>${preQueue ? t.saleIn(waitWords(t, status.etaSeconds)) : t.eta(waitWords(t, status.etaSeconds))}</p>`
      }
      ${position > 0 && first > 0 && html`<progress aria-label=${t.progressLabel} max=${first} value=${Math.max(0, first - position)}></progress>`}
      ${typeof status?.availableSeats === 'number' && html`<p>${t.seatsLeft(formatNumber(lang, status.availableSeats))}</p>`}
      <p class="keep-open">${t.keepOpen}</p>
      ${trouble && html`<p class="note">${t.connectionTrouble}</p>`}
    </section>
  `
}
