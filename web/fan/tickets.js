import { html, useEffect, useState } from '../shared/html.js'
import { formatDate, formatWon } from '../shared/i18n.js'
import { ACCESS_TOKEN_KEY, asFan } from './session.js'
import { explain } from './strings.js'

/** The fan's reservations, newest first: paid seats say "Confirmed". */
export function Tickets({ t, lang, concerts }) {
  const [items, setItems] = useState()
  const [problem, setProblem] = useState()
  useEffect(() => {
    // Someone who never signed up has no tickets: no sign-up just to say so.
    if (!localStorage.getItem(ACCESS_TOKEN_KEY)) return setItems([])
    asFan('GET', '/v1/me/reservations').then((body) => setItems(body.items), setProblem)
  }, [])
  const titles = Object.fromEntries(concerts.map((c) => [c.concertId, c.title]))
  const words = { CONFIRMED: t.confirmed, HELD: t.held, EXPIRED: t.expired, RELEASED: t.released }
  const shown = items?.filter((r) => r.status === 'CONFIRMED' || r.status === 'HELD')
  return html`
    <h1>${t.myTickets}</h1>
    ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
    ${!items && !problem && html`<p>${t.loading}</p>`}
    ${shown?.length === 0 && html`<p>${t.noTickets}</p>`}
    <ul class="tickets">
      ${shown?.map(
        (r) => html`<li key=${r.reservationId} class=${r.status.toLowerCase()}>
          <strong>${t.ticketLine(titles[r.concertId] ?? r.concertId, r.seatNo)}</strong>
          <span class=${`state ${r.status.toLowerCase()}`}>${words[r.status]}</span>
          <small>${formatWon(lang, r.price)} · ${formatDate(lang, r.createdAt)}</small>
        </li>`,
      )}
    </ul>
  `
}
