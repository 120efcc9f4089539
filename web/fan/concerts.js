import { html } from '../shared/html.js'
import { formatDate } from '../shared/i18n.js'

/**
 * @import { Concert } from '../shared/api.js'
 * @import { Lang } from '../shared/i18n.js'
 * @import { Strings } from './strings.js'
 */

/**
 * Every concert, each a link named by its title; a sold-out one is marked beside it, and a
 * coming presale and sale said.
 * @param {{ t: Strings, lang: Lang, concerts: Concert[] }} props
 */
export function ConcertList({ t, lang, concerts }) {
  return html`
    <h1>${t.concerts}</h1>
    <ul class="concerts">
      ${concerts.map(
        (c) => html`
          <li key=${c.concertId}>
            <a href=${`#/concerts/${encodeURIComponent(c.concertId)}`}>${c.title}</a>
            ${c.soldOut && html` <span class="badge">${t.soldOut}</span>`}
            <p>${c.performer} · ${c.venue}</p>
            ${c.presaleOpensAt && c.saleOpensAt && Date.parse(c.saleOpensAt) > Date.now() && html`<p class="note">${t.presaleFrom(formatDate(lang, c.presaleOpensAt))}</p>`}
            ${c.saleOpensAt && Date.parse(c.saleOpensAt) > Date.now() && html`<p class="note">${t.saleOpens(formatDate(lang, c.saleOpensAt))}</p>`}
          </li>
        `,
      )}
    </ul>
  `
}
