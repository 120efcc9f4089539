import { html, useState } from '../shared/html.js'
import { RefundPolicyInputs, refundPolicyBody, refundPolicyFields } from './refund-policy.js'
import { explain } from './strings.js'

/**
 * @import { Problem, RefundPolicy } from '../shared/api.js'
 * @import { FieldEvent } from '../shared/html.js'
 * @import { AdminCall } from './admin-api.js'
 * @import { Strings } from './strings.js'
 */

/** A datetime-local value as an instant, or undefined when left empty. */
export const instant = (/** @type {string} */ local) => (local ? new Date(local).toISOString() : undefined)

/**
 * An instant as a datetime-local value, in the browser's time zone; empty for none.
 * @param {string | null} iso
 */
export function localInput(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
}

/**
 * Creates a concert: title, performer, venue, the optional opening times (the line, a presale, the
 * sale) and the refund policy.
 * @param {{ t: Strings, admin: AdminCall, onCreated: (concertId: string) => Promise<void> }} props
 */
export function ConcertForm({ t, admin, onCreated }) {
  const empty = { title: '', performer: '', venue: '', queueOpensAt: '', presaleOpensAt: '', saleOpensAt: '' }
  const [form, setForm] = useState(empty)
  const [refunds, setRefunds] = useState(refundPolicyFields(null))
  const [problem, setProblem] = useState(/** @type {Problem | undefined} */ (undefined))
  const [note, setNote] = useState(/** @type {string | undefined} */ (undefined))
  /**
   * @param {keyof typeof empty} name
   * @param {string} label
   */
  const field = (name, label, type = 'text') => html`<label>
    ${label}
    <input type=${type} required=${type === 'text'} maxlength="200" value=${form[name]} onInput=${(/** @type {FieldEvent} */ e) => setForm({ ...form, [name]: e.currentTarget.value })} />
  </label>`

  const submit = async (/** @type {Event} */ event) => {
    event.preventDefault()
    setProblem(undefined)
    setNote(undefined)
    /** @type {{ title: string, performer: string, venue: string, queueOpensAt?: string, presaleOpensAt?: string, saleOpensAt?: string, refundPolicy?: RefundPolicy | null }} */
    const body = { title: form.title, performer: form.performer, venue: form.venue }
    body.refundPolicy = refundPolicyBody(refunds)
    for (const time of /** @type {const} */ (['queueOpensAt', 'presaleOpensAt', 'saleOpensAt']))
      if (form[time]) body[time] = instant(form[time])
    try {
      const { concertId } = /** @type {{ concertId: string }} */ (await admin('POST', '/v1/admin/concerts', { body }))
      setForm(empty)
      setRefunds(refundPolicyFields(null))
      setNote(t.created)
      await onCreated(concertId)
    } catch (err) {
      setProblem(/** @type {Problem} */ (err))
    }
  }
  return html`
    <form class="card stack" onSubmit=${submit} aria-labelledby="new-concert-heading">
      <h2 id="new-concert-heading">${t.newConcert}</h2>
      ${field('title', t.concertTitle)} ${field('performer', t.performer)} ${field('venue', t.venue)}
      ${field('queueOpensAt', t.queueOpensAt, 'datetime-local')} ${field('presaleOpensAt', t.presaleOpensAt, 'datetime-local')}
      ${field('saleOpensAt', t.saleOpensAt, 'datetime-local')}
      <${RefundPolicyInputs} t=${t} fields=${refunds} onChange=${setRefunds} />
      <button type="submit" class="primary">${t.create}</button>
      ${note && html`<p role="status" class="note">${note}</p>`}
      ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
    </form>
  `
}
