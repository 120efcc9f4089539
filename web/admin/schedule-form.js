import { html, useState } from '../shared/html.js'
import { formatNumber } from '../shared/i18n.js'
import { instant } from './concert-form.js'
import { explain } from './strings.js'

/**
 * @import { Problem } from '../shared/api.js'
 * @import { FieldEvent } from '../shared/html.js'
 * @import { Lang } from '../shared/i18n.js'
 * @import { AdminCall } from './admin-api.js'
 * @import { Strings } from './strings.js'
 */

/**
 * A section as the form holds it: the numbers as typed.
 * @typedef {{ name: string, rows: number | string, seatsPerRow: number | string, price: number | string }} SectionFields
 */

/** @type {(n: number) => SectionFields} */
const newSection = (n) => ({ name: n === 1 ? 'Floor' : `Section ${n}`, rows: 10, seatsPerRow: 20, price: 100_000 })

/**
 * Adds a date with its seat map: a list of sections, each rows × seats per row at a price.
 * @param {{ t: Strings, lang: Lang, concertId: string, admin: AdminCall, onCreated: () => void }} props
 */
export function ScheduleForm({ t, lang, concertId, admin, onCreated }) {
  const [startsAt, setStartsAt] = useState('')
  const [sections, setSections] = useState([newSection(1)])
  const [problem, setProblem] = useState(/** @type {Problem | undefined} */ (undefined))

  /** @type {(i: number, name: keyof SectionFields, value: string) => void} */
  const change = (i, name, value) => setSections(sections.map((s, j) => (j === i ? { ...s, [name]: value } : s)))
  const total = sections.reduce((sum, s) => sum + (Number(s.rows) || 0) * (Number(s.seatsPerRow) || 0), 0)

  const submit = async (/** @type {Event} */ event) => {
    event.preventDefault()
    setProblem(undefined)
    try {
      await admin('POST', `/v1/admin/concerts/${concertId}/schedules`, {
        body: {
          startsAt: instant(startsAt),
          sections: sections.map((s) => ({
            name: s.name,
            rows: Number(s.rows),
            seatsPerRow: Number(s.seatsPerRow),
            price: Number(s.price),
          })),
        },
      })
      setStartsAt('')
      setSections([newSection(1)])
      onCreated()
    } catch (err) {
      setProblem(/** @type {Problem} */ (err))
    }
  }

  /**
   * @param {number} i
   * @param {'rows' | 'seatsPerRow' | 'price'} name
   * @param {string} label
   * @param {number} max
   */
  const number = (i, name, label, max) => html`<label>
    ${label}
    <input type="number" required min=${name === 'price' ? 0 : 1} max=${max} step="1" value=${sections[i][name]} onInput=${(/** @type {FieldEvent} */ e) => change(i, name, e.currentTarget.value)} />
  </label>`
  return html`
    <form class="card stack" onSubmit=${submit} aria-labelledby="new-date-heading">
      <h3 id="new-date-heading">${t.newDate}</h3>
      <label>
        ${t.startsAt}
        <input type="datetime-local" required value=${startsAt} onInput=${(/** @type {FieldEvent} */ e) => setStartsAt(e.currentTarget.value)} />
      </label>
      <fieldset>
        <legend>${t.sections}</legend>
        ${sections.map(
          (s, i) => html`<div class="section-row" key=${i}>
            <label>
              ${t.sectionName}
              <input required maxlength="200" value=${s.name} onInput=${(/** @type {FieldEvent} */ e) => change(i, 'name', e.currentTarget.value)} />
            </label>
            ${number(i, 'rows', t.rows, 1000)} ${number(i, 'seatsPerRow', t.seatsPerRow, 1000)} ${number(i, 'price', t.price, 100000000)}
            <button type="button" aria-label=${t.removeSection(i + 1)} disabled=${sections.length === 1} onClick=${() => setSections(sections.filter((_, j) => j !== i))}>
              ×
            </button>
          </div>`,
        )}
        <button type="button" onClick=${() => setSections([...sections, newSection(sections.length + 1)])}>${t.addSection}</button>
      </fieldset>
      <p>${t.totalSeats(formatNumber(lang, total))}</p>
      <button type="submit" class="primary">${t.addDate}</button>
      ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
    </form>
  `
}
