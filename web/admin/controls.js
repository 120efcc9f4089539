import { html, useState } from '../shared/html.js'
import { explain } from './strings.js'

/** Pause and resume admission, and set its strategy, rate and cap; live on every process. */
export function QueueControls({ t, concertId, config, admin, onChanged }) {
  const [form, setForm] = useState({ strategy: config.strategy, admitPerTick: config.admitPerTick, maxActive: config.maxActive })
  const [problem, setProblem] = useState()
  const [busy, setBusy] = useState(false)

  const patch = async (body) => {
    setBusy(true)
    setProblem(undefined)
    try {
      onChanged(await admin('PATCH', `/v1/admin/concerts/${concertId}/queue`, { body }))
    } catch (err) {
      setProblem(err)
    } finally {
      setBusy(false)
    }
  }
  const apply = (event) => {
    event.preventDefault()
    patch({ strategy: form.strategy, admitPerTick: Number(form.admitPerTick), maxActive: Number(form.maxActive) })
  }
  return html`
    <section class="card" aria-labelledby="admission-heading">
      <h2 id="admission-heading">${t.admission}</h2>
      <p role="status">${config.paused ? t.paused : t.running}</p>
      <button type="button" class="primary" disabled=${busy} onClick=${() => patch({ paused: !config.paused })}>
        ${config.paused ? t.resume : t.pause}
      </button>
      <form class="inline" onSubmit=${apply}>
        <label>
          ${t.strategy}
          <select value=${form.strategy} onChange=${(e) => setForm({ ...form, strategy: e.currentTarget.value })}>
            ${['rate', 'cap', 'hybrid'].map((s) => html`<option value=${s} key=${s}>${t.strategies[s]}</option>`)}
          </select>
        </label>
        <label>
          ${t.admitPerTick}
          <input type="number" min="1" max="100000" required value=${form.admitPerTick} onInput=${(e) => setForm({ ...form, admitPerTick: e.currentTarget.value })} />
        </label>
        <label>
          ${t.maxActive}
          <input type="number" min="1" max="10000000" required value=${form.maxActive} onInput=${(e) => setForm({ ...form, maxActive: e.currentTarget.value })} />
        </label>
        <button type="submit" disabled=${busy}>${t.apply}</button>
      </form>
      ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
    </section>
  `
}

/** Whether joining takes proof of work, and how many tickets one fan may buy. */
export function SaleRules({ t, concert, admin, onChanged }) {
  const [joinChallenge, setJoinChallenge] = useState(concert.joinChallenge ?? 'none')
  const [maxTickets, setMaxTickets] = useState(concert.maxTicketsPerUser ?? '')
  const [problem, setProblem] = useState()
  const [note, setNote] = useState()
  const save = async (event) => {
    event.preventDefault()
    setProblem(undefined)
    setNote(undefined)
    const body = { joinChallenge }
    if (maxTickets !== '') body.maxTicketsPerUser = Number(maxTickets)
    try {
      await admin('PATCH', `/v1/admin/concerts/${concert.concertId}`, { body })
      setNote(t.saved)
      onChanged()
    } catch (err) {
      // A server without this route answers "no route": say so rather than "not found".
      setProblem(err.code === 'NOT_FOUND' && /no route/.test(err.message) ? { code: 'UNSUPPORTED' } : err)
    }
  }
  return html`
    <form class="card inline" onSubmit=${save} aria-labelledby="rules-heading">
      <h2 id="rules-heading">${t.saleRules}</h2>
      <label>
        ${t.joinChallenge}
        <select value=${joinChallenge} onChange=${(e) => setJoinChallenge(e.currentTarget.value)}>
          ${['none', 'pow'].map((c) => html`<option value=${c} key=${c}>${t.challenges[c]}</option>`)}
        </select>
      </label>
      <label>
        ${t.maxTicketsPerUser}
        <input type="number" min="1" max="1000" value=${maxTickets} onInput=${(e) => setMaxTickets(e.currentTarget.value)} />
      </label>
      <button type="submit">${t.save}</button>
      ${note && html`<p role="status" class="note">${note}</p>`}
      ${problem && html`<p role="alert" class="problem">${problem.code === 'UNSUPPORTED' ? t.unsupported : explain(t, problem)}</p>`}
    </form>
  `
}
