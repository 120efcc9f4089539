import { html } from '../shared/html.js'
import { formatWon } from '../shared/i18n.js'
import { seatNumber } from './seat-map.js'

/**
 * @import { Lang } from '../shared/i18n.js'
 * @import { ShownMap } from './seat-map.js'
 * @import { Strings } from './strings.js'
 */

/**
 * A small venue: every seat a button named "Seat N", rows of them per section.
 * @param {{ t: Strings, lang: Lang, map: ShownMap, chosen: number | undefined, onChoose: (seatNo: number) => void }} props
 */
export function SeatGrid({ t, lang, map, chosen, onChoose }) {
  return html`
    <div class="legend" aria-hidden="true">
      <span class="seat free"></span> ${t.legendFree} <span class="seat taken"></span> ${t.legendTaken}
      <span class="seat chosen"></span> ${t.legendChosen}
    </div>
    ${map.sections.map(
      (section) => html`<div class="section" key=${section.name}>
        <h3>${section.name} · ${formatWon(lang, section.price)}</h3>
        ${Array.from({ length: section.rows }, (_, r) => {
          const row = r + 1
          return html`<div class="row" role="group" aria-label=${t.seatWhere(section.name, row)} key=${row}>
            ${Array.from({ length: section.seatsPerRow }, (_, s) => {
              const seatNo = seatNumber(section, row, s + 1)
              const taken = map.taken.has(seatNo)
              return html`<button
                type="button"
                key=${seatNo}
                class=${`seat ${taken ? 'taken' : chosen === seatNo ? 'chosen' : 'free'}`}
                aria-label=${t.seat(seatNo)}
                aria-pressed=${chosen === seatNo}
                disabled=${taken}
                onClick=${() => onChoose(seatNo)}
              >
                ${seatNo}
              </button>`
            })}
          </div>`
        })}
      </div>`,
    )}
  `
}
