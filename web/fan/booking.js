import { html, useEffect, useState } from '../shared/html.js'
import { formatDate, formatNumber, formatWon } from '../shared/i18n.js'
import { SeatCanvas } from './seat-canvas.js'
import { SeatGrid } from './seat-grid.js'
import { locate, sectionsOfFullMap } from './seat-map.js'
import { asFan } from './session.js'
import { explain } from './strings.js'

/**
 * @import { Page, Problem, RequestOptions, Schedule } from '../shared/api.js'
 * @import { Lang } from '../shared/i18n.js'
 * @import { HeldSeat, Hold } from './holds.js'
 * @import { OnEnded } from './line.js'
 * @import { SeatMap, ShownMap } from './seat-map.js'
 * @import { Strings } from './strings.js'
 */

/** Above this many seats a date's map is drawn on a canvas from the compact form. */
const GRID_MAX_SEATS = 1000

/**
 * Admitted: the dates, then a date's seat map, then holding the chosen seat.
 * @param {{ t: Strings, lang: Lang, concertId: string, queueToken: string, onHeld: (hold: Hold) => void, onEnded: OnEnded }} props
 */
export function Booking({ t, lang, concertId, queueToken, onHeld, onEnded }) {
  const [dates, setDates] = useState(/** @type {Schedule[] | undefined} */ (undefined))
  const [date, setDate] = useState(/** @type {Schedule | undefined} */ (undefined))
  const [map, setMap] = useState(/** @type {ShownMap | undefined} */ (undefined))
  const [seatNo, setSeatNo] = useState(/** @type {number | undefined} */ (undefined))
  const [problem, setProblem] = useState(/** @type {Problem | undefined} */ (undefined))
  const [holding, setHolding] = useState(false)

  /** @type {(method: string, path: string, options?: RequestOptions) => Promise<unknown>} */
  const gated = (method, path, options) =>
    asFan(method, path, { ...options, queueToken }).catch((/** @type {Problem} */ err) => {
      if (err.code === 'QUEUE_TOKEN_EXPIRED' || err.code === 'QUEUE_TOKEN_INVALID') onEnded(err, true)
      throw err
    })
  const loadMap = (/** @type {Schedule} */ d) =>
    /** @type {Promise<SeatMap>} */ (
      gated('GET', `/v1/schedules/${d.scheduleId}/seats?format=${d.totalSeats <= GRID_MAX_SEATS ? 'full' : 'compact'}`)
    ).then((m) => {
      const sections = m.seats ? sectionsOfFullMap(m.seats) : m.sections
      const taken = new Set(m.seats ? m.seats.filter((s) => s.status !== 'AVAILABLE').map((s) => s.seatNo) : [...m.held, ...m.sold])
      setMap({ ...m, sections, taken })
    }, setProblem)

  const loadDates = () =>
    /** @type {Promise<Page<Schedule>>} */ (gated('GET', `/v1/concerts/${concertId}/schedules`)).then(
      (body) => setDates(body.items),
      setProblem,
    )
  useEffect(() => {
    loadDates()
  }, [concertId])

  const pickDate = (/** @type {Schedule} */ d) => {
    setDate(d)
    setSeatNo(undefined)
    setMap(undefined)
    setProblem(undefined)
    loadMap(d)
  }

  const hold = async () => {
    // The button is enabled only once a seat is chosen on a date's map.
    if (!date || !map || seatNo === undefined) return
    setHolding(true)
    setProblem(undefined)
    try {
      const held = /** @type {HeldSeat} */ (await gated('POST', '/v1/reservations', { body: { scheduleId: date.scheduleId, seatNo } }))
      const where = locate(map.sections, seatNo)
      onHeld({ ...held, concertId, queueToken, where: where && { section: where.section.name, row: where.row } })
      setSeatNo(undefined)
    } catch (err) {
      const problem = /** @type {Problem} */ (err)
      setProblem(problem)
      if (problem.code === 'SEAT_UNAVAILABLE') setSeatNo(undefined)
    } finally {
      setHolding(false)
    }
    // Either way the seats have moved: show them as they are now.
    loadMap(date)
    loadDates()
  }

  const chosen = map && seatNo && locate(map.sections, seatNo)
  return html`
    <section aria-labelledby="dates-heading" class="dates">
      <h2 id="dates-heading">${t.dates}</h2>
      ${!dates && !problem && html`<p>${t.loading}</p>`}
      ${dates?.length === 0 && html`<p>${t.noDates}</p>`}
      <ul>
        ${dates?.map(
          (d) => html`<li key=${d.scheduleId}>
            <button type="button" aria-pressed=${date?.scheduleId === d.scheduleId} onClick=${() => pickDate(d)} disabled=${d.availableSeats === 0}>
              ${t.dateOption(formatDate(lang, d.startsAt), formatNumber(lang, d.availableSeats), formatNumber(lang, d.totalSeats))}
            </button>
          </li>`,
        )}
      </ul>
    </section>
    ${
      date &&
      html`<section aria-labelledby="map-heading" class="seat-map">
      <h2 id="map-heading">${t.seatMap}</h2>
      ${!map && html`<p>${t.loading}</p>`}
      ${
        map &&
        (map.seats
          ? html`<${SeatGrid} t=${t} lang=${lang} map=${map} chosen=${seatNo} onChoose=${setSeatNo} />`
          : html`<${SeatCanvas} t=${t} lang=${lang} map=${map} chosen=${seatNo} onChoose=${setSeatNo} />`)
      }
      <div class="choice">
        <p>
          ${
            chosen
              ? `${t.seat(seatNo)} · ${t.seatWhere(chosen.section.name, chosen.row)} · ${formatWon(lang, chosen.section.price)}`
              : t.pickSeat
          }
        </p>
        <button type="button" class="primary" onClick=${hold} disabled=${!chosen || holding}>${holding ? t.holding : t.holdSeat}</button>
      </div>
    </section>`
    }
    ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
  `
}
