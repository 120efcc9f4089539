import { html, useState } from '../shared/html.js'
import { explain } from './strings.js'

/** A datetime-local value as an instant, or undefined when left empty. */
export const instant = (local) => (local ? new Date(local).toISOString() : undefined)

/** Creates a concert: title, performer, venue and the optional opening times. */
export function ConcertForm({ t, admin, onCreated }) {
  const empty = { title: '', performer: '', venue: '', queueOpensAt: '', saleOpensAt: '' }
  const [form, setForm] = useState(empty)
  const [problem, setProblem] = useState()
  const [note, setNote] = useState()
  const field = (name, label, type = 'text') => html`<label>
    ${label}
    <input type=${type} required=${type === 'text'} maxlength="200" value=${form[name]} onInput=${(e) => setForm({ ...form, [name]: e.currentTarget.value })} />
  </label>`

  const submit = async (event) => {
    event.preventDefault()
    setProblem(undefined)
    setNote(undefined)
    const body = { title: form.title, performer: form.performer, venue: form.venue }
    if (form.queueOpensAt) body.queueOpensAt = instant(form.queueOpensAt)
    if (form.saleOpensAt) body.saleOpensAt = instant(form.saleOpensAt)
    try {
      const { concertId } = await admin('POST', '/v1/admin/concerts', { body })
      setForm(empty)
      setNote(t.created)
      await onCreated(concertId)
    } catch (err) {
      setProblem(err)
    }
  }
  return html`
    <form class="card stack" onSubmit=${submit} aria-labelledby="new-concert-heading">
      <h2 id="new-concert-heading">${t.newConcert}</h2>
      ${field('title', t.concertTitle)} ${field('performer', t.performer)} ${field('venue', t.venue)}
      ${field('queueOpensAt', t.queueOpensAt, 'datetime-local')} ${field('saleOpensAt', t.saleOpensAt, 'datetime-local')}
      <button type="submit" class="primary">${t.create}</button>
      ${note && html`<p role="status" class="note">${note}</p>`}
      ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
    </form>
  `
}
