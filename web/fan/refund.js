import { newKey } from '../shared/api.js'
import { html, useState } from '../shared/html.js'
import { formatDate, formatPercent, formatWon } from '../shared/i18n.js'
import { asFan } from './session.js'
import { explain } from './strings.js'

/**
 * @import { Problem, RefundPolicy } from '../shared/api.js'
 * @import { Lang } from '../shared/i18n.js'
 * @import { Reservation } from './holds.js'
 * @import { Strings } from './strings.js'
 */

/**
 * A refund done: `POST /v1/reservations/{id}/refund`'s answer.
 * @typedef {{ refundId: string, reservationId: string, amount: number, fee: number, balance: number, status: 'REFUNDED' }} Refund
 */

/**
 * What refunding `price` under `policy` gives back and keeps, as the service counts it: the fee in
 * hundredths of a percent, the amount back rounded down to whole won.
 * @param {number} price
 * @param {RefundPolicy} policy
 */
function refundFigures(price, policy) {
  const basisPoints = Math.round(policy.feePercent * 100)
  const amount = Math.floor((price * (10_000 - basisPoints)) / 10_000)
  return { amount, fee: price - amount }
}

/**
 * A refusal in words; refunds closed says when they did.
 * @param {Strings} t
 * @param {Lang} lang
 * @param {Problem} problem
 */
const refusalWords = (t, lang, problem) =>
  problem.code === 'REFUND_NOT_ALLOWED' && problem.refundableUntil
    ? t.refundsClosed(formatDate(lang, problem.refundableUntil))
    : explain(t, problem)

/** Refusals after which this ticket offers no refund any more; ALREADY_REFUNDED marks it refunded. */
const FINAL = new Set(['REFUND_NOT_ALLOWED', 'NOT_PAID', 'SCHEDULE_CANCELLED'])

/**
 * A paid ticket's refund: the concert's terms and **Refund**, then the amount back and the fee,
 * to confirm. Where the concert takes no refunds, or they have closed (the ticket carries its
 * date's start), it says so; a refusal from the service is said in words too.
 * @param {{ t: Strings, lang: Lang, ticket: Reservation, policy: RefundPolicy | null, onRefunded: (refund: Refund | undefined) => void }} props
 */
export function RefundOffer({ t, lang, ticket, policy, onRefunded }) {
  /** Whether Refund is still offered: a final refusal ends it. */
  const [offered, setOffered] = useState(true)
  const [confirming, setConfirming] = useState(false)
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState(/** @type {Problem | undefined} */ (undefined))

  if (!policy) return html`<p class="note">${t.noRefunds}</p>`
  // Refunds close refundableUntilHours before the date; the service has the last word all the same.
  const closesAt = Date.parse(ticket.startsAt) - policy.refundableUntilHours * 3_600_000
  if (Date.now() >= closesAt) return html`<p class="note">${t.refundsClosed(formatDate(lang, new Date(closesAt).toISOString()))}</p>`

  const refund = async () => {
    setBusy(true)
    setProblem(undefined)
    try {
      const done = /** @type {Refund} */ (
        await asFan('POST', `/v1/reservations/${ticket.reservationId}/refund`, { headers: { 'idempotency-key': newKey() } })
      )
      onRefunded(done)
    } catch (err) {
      const refused = /** @type {Problem} */ (err)
      if (refused.code === 'ALREADY_REFUNDED') return onRefunded(undefined)
      setProblem(refused)
      if (FINAL.has(refused.code)) setOffered(false)
    } finally {
      setBusy(false)
      setConfirming(false)
    }
  }

  const { amount, fee } = refundFigures(ticket.price, policy)
  const fields = html`<dl class="refund-figures">
    <div><dt>${t.refundBack}</dt><dd>${formatWon(lang, amount)}</dd></div>
    <div><dt>${t.refundFee}</dt><dd>${formatWon(lang, fee)}</dd></div>
  </dl>`
  return html`
    ${offered && !confirming && html`<p class="note">${t.refundTerms(policy.refundableUntilHours, formatPercent(lang, policy.feePercent))}</p>`}
    ${
      offered &&
      !confirming &&
      html`<div class="actions"><button type="button" onClick=${() => setConfirming(true)} disabled=${busy}>${t.refund}</button></div>`
    }
    ${
      offered &&
      confirming &&
      html`<div role="group" class="confirm" aria-label=${t.refundQuestion}>
        <p>${t.refundQuestion}</p>
        ${fields}
        <div class="actions">
          <button type="button" class="danger" onClick=${refund} disabled=${busy}>${busy ? t.refunding : t.confirmRefund}</button>
          <button type="button" onClick=${() => setConfirming(false)} disabled=${busy}>${t.keepTicket}</button>
        </div>
      </div>`
    }
    ${problem && html`<p role="alert" class="problem">${refusalWords(t, lang, problem)}</p>`}
  `
}
