import { html, useEffect, useState } from '../shared/html.js'
import { formatDate, formatWon } from '../shared/i18n.js'
import { RefundOffer } from './refund.js'
import { ACCESS_TOKEN_KEY, asFan } from './session.js'
import { explain } from './strings.js'

/**
 * @import { Concert, Page, Problem } from '../shared/api.js'
 * @import { Lang } from '../shared/i18n.js'
 * @import { Reservation } from './holds.js'
 * @import { Refund } from './refund.js'
 * @import { Strings } from './strings.js'
 */

/**
 * The fan's reservations, newest first: paid seats say "Confirmed" and offer a refund where the
 * concert takes them; refunded ones stay listed.
 * @param {{ t: Strings, lang: Lang, concerts: Concert[] }} props
 */
export function Tickets({ t, lang, concerts }) {
  const [items, setItems] = useState(/** @type {Reservation[] | undefined} */ (undefined))
  const [problem, setProblem] = useState(/** @type {Problem | undefined} */ (undefined))
  /** Refunds made on this page, by reservation: what came back. */
  const [refunds, setRefunds] = useState(/** @type {Record<string, Refund>} */ ({}))
  const [balance, setBalance] = useState(/** @type {number | undefined} */ (undefined))
  useEffect(() => {
    // Someone who never signed up has no tickets: no sign-up just to say so.
    if (!localStorage.getItem(ACCESS_TOKEN_KEY)) return setItems([])
    const answer = /** @type {Promise<Page<Reservation>>} */ (asFan('GET', '/v1/me/reservations'))
    answer.then((body) => setItems(body.items), setProblem)
  }, [])
  const byId = Object.fromEntries(concerts.map((c) => [c.concertId, c]))
  const words = { CONFIRMED: t.confirmed, HELD: t.held, EXPIRED: t.expired, RELEASED: t.released, REFUNDED: t.refunded }
  const shown = items?.filter((r) => r.status === 'CONFIRMED' || r.status === 'HELD' || r.status === 'REFUNDED')

  /**
   * @param {string} reservationId
   * @param {Refund | undefined} refund undefined when it was refunded before
   */
  const refunded = (reservationId, refund) => {
    setItems((all) => all?.map((r) => (r.reservationId === reservationId ? { ...r, status: 'REFUNDED' } : r)))
    if (!refund) return
    setRefunds((done) => ({ ...done, [reservationId]: refund }))
    setBalance(refund.balance)
  }
  return html`
    <h1>${t.myTickets}</h1>
    ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
    ${!items && !problem && html`<p>${t.loading}</p>`}
    ${shown?.length === 0 && html`<p>${t.noTickets}</p>`}
    ${balance !== undefined && html`<p role="status" class="note">${t.balance(formatWon(lang, balance))}</p>`}
    <ul class="tickets">
      ${shown?.map((r) => {
        const concert = byId[r.concertId]
        const back = refunds[r.reservationId]
        return html`<li key=${r.reservationId} class=${r.status.toLowerCase()}>
          <strong>${t.ticketLine(concert?.title ?? r.concertId, r.seatNo)}</strong>
          <span class=${`state ${r.status.toLowerCase()}`}>${words[r.status]}</span>
          <small>${formatWon(lang, r.price)} · ${formatDate(lang, r.createdAt)}</small>
          ${back && html`<span>${t.refundedAmount(formatWon(lang, back.amount))}</span>`}
          ${
            r.status === 'CONFIRMED' &&
            concert &&
            html`<${RefundOffer}
              t=${t}
              lang=${lang}
              ticket=${r}
              policy=${concert.refundPolicy}
              onRefunded=${(/** @type {Refund | undefined} */ refund) => refunded(r.reservationId, refund)}
            />`
          }
        </li>`
      })}
    </ul>
  `
}
