import { html, useEffect, useState } from '../shared/html.js'
import { formatDate, formatNumber } from '../shared/i18n.js'
import { useAction } from './action.js'
import { saveFile } from './admin-api.js'
import { instant, localInput } from './concert-form.js'
import { explain } from './strings.js'

/**
 * @import { Concert } from '../shared/api.js'
 * @import { FieldEvent } from '../shared/html.js'
 * @import { Lang } from '../shared/i18n.js'
 * @import { AdminCall } from './admin-api.js'
 * @import { Strings } from './strings.js'
 */

/**
 * A page of a concert's codes, as `GET /v1/admin/concerts/{id}/presale-codes` answers it (the
 * fields read here): the counts of them all come with any page.
 * @typedef {{ total: number, used: number }} PresaleCodePage
 */

/** New codes shown on the page; the rest are in the CSV. */
const SHOWN_CODES = 10

/**
 * A concert's presale: its window (set, moved or removed), its codes counted, new codes made
 * (how many, for how many fans each) and every code downloaded as CSV for a mail merge.
 * @param {{ t: Strings, lang: Lang, concert: Concert, admin: AdminCall, onChanged: () => void }} props
 */
export function PresaleSection({ t, lang, concert, admin, onChanged }) {
  const { concertId } = concert
  const url = `/v1/admin/concerts/${concertId}/presale-codes`
  const [counts, setCounts] = useState(/** @type {PresaleCodePage | undefined} */ (undefined))
  /** The codes just made, all of them. */
  const [made, setMade] = useState(/** @type {string[] | undefined} */ (undefined))
  /** The form's values: the numbers as typed. */
  const [form, setForm] = useState(/** @type {{ count: number | string, maxUses: number | string }} */ ({ count: 100, maxUses: 1 }))
  const { busy, problem, run } = useAction()

  // The counts come with any page of codes: the shortest will do.
  const load = async () => {
    const { total, used } = /** @type {PresaleCodePage} */ (await admin('GET', `${url}?limit=1`))
    setCounts({ total, used })
  }
  useEffect(() => {
    run(load)
  }, [concertId])

  const generate = (/** @type {Event} */ event) => {
    event.preventDefault()
    run(async () => {
      const body = { count: Number(form.count), maxUses: Number(form.maxUses) }
      const { codes } = /** @type {{ codes: string[] }} */ (await admin('POST', url, { body }))
      setMade(codes)
      await load()
    })
  }
  const download = () =>
    run(async () => {
      await saveFile(/** @type {Response} */ (await admin('GET', `${url}?format=csv`, { raw: true })), 'presale-codes.csv')
      await load()
    })

  /**
   * @param {keyof typeof form} name
   * @param {string} label
   * @param {number} max
   */
  const number = (name, label, max) => html`<label>
    ${label}
    <input type="number" required min="1" max=${max} step="1" value=${form[name]} onInput=${(/** @type {FieldEvent} */ e) => setForm({ ...form, [name]: e.currentTarget.value })} />
  </label>`
  return html`
    <section class="card" aria-labelledby="presale-heading">
      <h2 id="presale-heading">${t.presaleCodes}</h2>
      <p>
        ${concert.presaleOpensAt && concert.saleOpensAt ? t.presaleWindow(formatDate(lang, concert.presaleOpensAt), formatDate(lang, concert.saleOpensAt)) : t.noPresale}
      </p>
      <${PresaleWindow} t=${t} concert=${concert} admin=${admin} onChanged=${onChanged} />
      ${counts && html`<p role="status">${t.codeSummary(formatNumber(lang, counts.total), formatNumber(lang, counts.used))}</p>`}
      <form class="inline" onSubmit=${generate}>
        ${number('count', t.codeCount, 100000)} ${number('maxUses', t.usesPerCode, 1000)}
        <button type="submit" class="primary" disabled=${busy}>${t.generateCodes}</button>
        <button type="button" disabled=${busy || !counts?.total} onClick=${download}>${t.downloadCsv}</button>
      </form>
      ${
        made &&
        html`<p class="note">${t.madeCodes(formatNumber(lang, made.length))}</p>
        <ul class="codes" aria-label=${t.newCodes}>
          ${made.slice(0, SHOWN_CODES).map((c) => html`<li key=${c}><code>${c}</code></li>`)}
        </ul>
        ${made.length > SHOWN_CODES && html`<p class="note">${t.moreCodes(formatNumber(lang, made.length - SHOWN_CODES))}</p>`}`
      }
      ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
    </section>
  `
}

/**
 * Sets, moves or (left empty) removes the presale, with the sale it ends at.
 * @param {{ t: Strings, concert: Concert, admin: AdminCall, onChanged: () => void }} props
 */
function PresaleWindow({ t, concert, admin, onChanged }) {
  const [presaleOpensAt, setPresaleOpensAt] = useState(localInput(concert.presaleOpensAt))
  const [saleOpensAt, setSaleOpensAt] = useState(localInput(concert.saleOpensAt))
  const { busy, problem, run } = useAction()
  const [note, setNote] = useState(/** @type {string | undefined} */ (undefined))
  const save = (/** @type {Event} */ event) => {
    event.preventDefault()
    setNote(undefined)
    /** @type {{ presaleOpensAt: string | null, saleOpensAt?: string }} */
    const body = { presaleOpensAt: instant(presaleOpensAt) ?? null }
    if (saleOpensAt) body.saleOpensAt = instant(saleOpensAt)
    run(async () => {
      await admin('PATCH', `/v1/admin/concerts/${concert.concertId}`, { body })
      setNote(t.saved)
      onChanged()
    })
  }
  return html`
    <form class="inline" onSubmit=${save} aria-label=${t.presaleWindowForm}>
      <label>
        ${t.presaleOpensAt}
        <input type="datetime-local" value=${presaleOpensAt} onInput=${(/** @type {FieldEvent} */ e) => setPresaleOpensAt(e.currentTarget.value)} />
      </label>
      <label>
        ${t.saleOpensAt}
        <input type="datetime-local" value=${saleOpensAt} onInput=${(/** @type {FieldEvent} */ e) => setSaleOpensAt(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled=${busy}>${t.savePresale}</button>
      ${note && html`<p role="status" class="note">${note}</p>`}
      ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
    </form>
  `
}
