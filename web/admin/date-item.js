import { html, useEffect, useState } from '../shared/html.js'
import { formatDate, formatNumber } from '../shared/i18n.js'
import { explain } from './strings.js'

/**
 * @import { Problem, Schedule } from '../shared/api.js'
 * @import { Lang } from '../shared/i18n.js'
 * @import { AdminCall } from './admin-api.js'
 * @import { Strings } from './strings.js'
 */

/**
 * A date as `GET /v1/admin/concerts/{id}/schedules` lists it, cancelled ones included.
 * @typedef {Schedule & { status: 'ON_SALE' | 'CANCELLING' | 'CANCELLED' }} OperatorDate
 */

/**
 * A date's cancellation, as `/v1/admin/schedules/{id}/cancellation` answers it.
 * @typedef {object} Cancellation
 * @property {string} scheduleId
 * @property {'CANCELLING' | 'CANCELLED'} status
 * @property {number} refunded paid seats refunded so far
 * @property {number} toRefund paid seats to refund in all
 */

/** How often a cancellation under way is asked after. */
const POLL_MS = 1000

/**
 * One date in the concert's list: when, its state, the seats free while on sale, and **Cancel
 * date**, which says what follows and asks first; once cancelled, the refunds' progress, asked
 * after every second until the date is CANCELLED.
 * @param {{ t: Strings, lang: Lang, date: OperatorDate, admin: AdminCall, onChanged: () => void }} props
 */
export function DateItem({ t, lang, date, admin, onChanged }) {
  const [asking, setAsking] = useState(false)
  const [busy, setBusy] = useState(false)
  const [progress, setProgress] = useState(/** @type {Cancellation | undefined} */ (undefined))
  const [problem, setProblem] = useState(/** @type {Problem | undefined} */ (undefined))
  const status = progress?.status ?? date.status
  const path = `/v1/admin/schedules/${date.scheduleId}/cancellation`
  const when = formatDate(lang, date.startsAt)

  // Off sale: the progress, again and again until the date is CANCELLED.
  useEffect(() => {
    if (status === 'ON_SALE') return
    /** @type {number | undefined} */
    let timer
    let stopped = false
    const poll = async () => {
      try {
        const now = /** @type {Cancellation} */ (await admin('GET', path))
        if (stopped) return
        setProgress(now)
        setProblem(undefined)
        if (now.status === 'CANCELLED') return onChanged()
      } catch (err) {
        if (stopped) return
        setProblem(/** @type {Problem} */ (err))
      }
      timer = setTimeout(poll, POLL_MS)
    }
    poll()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [date.scheduleId, status === 'ON_SALE'])

  const cancel = async () => {
    setBusy(true)
    setProblem(undefined)
    try {
      setProgress(/** @type {Cancellation} */ (await admin('POST', path)))
      setAsking(false)
      onChanged()
    } catch (err) {
      setProblem(/** @type {Problem} */ (err))
    } finally {
      setBusy(false)
    }
  }

  const done = progress?.status === 'CANCELLED'
  return html`<li class="date-item">
    <p>
      ${status === 'ON_SALE' ? t.dateLine(when, formatNumber(lang, date.availableSeats), formatNumber(lang, date.totalSeats)) : when}
      ${' '}<span class=${`date-status ${status.toLowerCase()}`}>${t.dateStatus[status]}</span>
    </p>
    ${status === 'ON_SALE' && !asking && html`<button type="button" onClick=${() => setAsking(true)}>${t.cancelDate}</button>`}
    ${
      status === 'ON_SALE' &&
      asking &&
      html`<div role="group" class="confirm" aria-label=${t.cancelQuestion(when)}>
        <p><strong>${t.cancelQuestion(when)}</strong></p>
        <p>${t.cancelWhat}</p>
        <button type="button" class="danger" disabled=${busy} onClick=${cancel}>${t.confirmCancel}</button>
        ${' '}<button type="button" disabled=${busy} onClick=${() => setAsking(false)}>${t.keepDate}</button>
      </div>`
    }
    ${
      progress &&
      html`<div class="cancellation">
        <progress
          aria-label=${t.refundProgress(when)}
          aria-valuetext=${t.refundedOf(formatNumber(lang, progress.refunded), formatNumber(lang, progress.toRefund))}
          max=${Math.max(1, progress.toRefund)}
          value=${progress.toRefund === 0 ? Number(done) : progress.refunded}
        ></progress>
        <span role="status">${t.refundedOf(formatNumber(lang, progress.refunded), formatNumber(lang, progress.toRefund))}</span>
      </div>`
    }
    ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
  </li>`
}
