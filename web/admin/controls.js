import { html, useState } from '../shared/html.js'
import { useAction } from './action.js'
import { RefundPolicyInputs, refundPolicyBody, refundPolicyFields } from './refund-policy.js'
import { explain } from './strings.js'

/**
 * @import { Concert, Problem } from '../shared/api.js'
 * @import { FieldEvent } from '../shared/html.js'
 * @import { AdminCall } from './admin-api.js'
 * @import { Strings } from './strings.js'
 */

/**
 * A concert's queue settings, as `/v1/admin/concerts/{id}/queue` answers them (the fields set here).
 * @typedef {object} QueueConfig
 * @property {'rate' | 'cap' | 'hybrid'} strategy
 * @property {number} admitPerTick
 * @property {number} maxActive
 * @property {boolean} paused
 * @property {AdaptiveConfig} adaptive
 */

/**
 * Adaptive admission's settings of a concert (docs/queue.md#adaptive-admission).
 * @typedef {object} AdaptiveConfig
 * @property {boolean} enabled
 * @property {number} minAdmitPerTick
 * @property {number} maxAdmitPerTick
 * @property {number} targetLatencyMs
 */

/**
 * A change of queue settings, as `PATCH /v1/admin/concerts/{id}/queue` takes it.
 * @typedef {Partial<Omit<QueueConfig, 'adaptive'>> & { adaptive?: Partial<AdaptiveConfig> }} QueueChange
 */

/**
 * Pause and resume admission, set its strategy, rate and cap, and turn adaptive admission on or
 * off within its bounds; live on every process.
 * @param {{ t: Strings, concertId: string, config: QueueConfig, admin: AdminCall, onChanged: (config: QueueConfig) => void }} props
 */
export function QueueControls({ t, concertId, config, admin, onChanged }) {
  /** The form's values: the numbers as typed. */
  const [form, setForm] = useState(
    /** @type {{ strategy: QueueConfig['strategy'], admitPerTick: number | string, maxActive: number | string }} */ ({
      strategy: config.strategy,
      admitPerTick: config.admitPerTick,
      maxActive: config.maxActive,
    }),
  )
  /** Adaptive admission's form: the switch, and the numbers as typed. */
  const [adaptive, setAdaptive] = useState(
    /** @type {{ enabled: boolean, minAdmitPerTick: number | string, maxAdmitPerTick: number | string, targetLatencyMs: number | string }} */ ({
      ...config.adaptive,
    }),
  )
  const { busy, problem, run } = useAction()

  const patch = (/** @type {QueueChange} */ body) =>
    run(async () => onChanged(/** @type {QueueConfig} */ (await admin('PATCH', `/v1/admin/concerts/${concertId}/queue`, { body }))))
  const apply = (/** @type {Event} */ event) => {
    event.preventDefault()
    patch({ strategy: form.strategy, admitPerTick: Number(form.admitPerTick), maxActive: Number(form.maxActive) })
  }
  const applyAdaptive = (/** @type {Event} */ event) => {
    event.preventDefault()
    const { enabled, minAdmitPerTick, maxAdmitPerTick, targetLatencyMs } = adaptive
    patch({
      adaptive: {
        enabled,
        minAdmitPerTick: Number(minAdmitPerTick),
        maxAdmitPerTick: Number(maxAdmitPerTick),
        targetLatencyMs: Number(targetLatencyMs),
      },
    })
  }
  /** @type {(name: 'minAdmitPerTick' | 'maxAdmitPerTick' | 'targetLatencyMs', label: string, max: number) => unknown} */
  const adaptiveField = (name, label, max) => html`<label>
    ${label}
    <input type="number" min="1" max=${max} required value=${adaptive[name]} onInput=${(/** @type {FieldEvent} */ e) => setAdaptive({ ...adaptive, [name]: e.currentTarget.value })} />
  </label>`
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
          <select value=${form.strategy} onChange=${(/** @type {FieldEvent} */ e) => setForm({ ...form, strategy: /** @type {QueueConfig['strategy']} */ (e.currentTarget.value) })}>
            ${/** @type {const} */ (['rate', 'cap', 'hybrid']).map((s) => html`<option value=${s} key=${s}>${t.strategies[s]}</option>`)}
          </select>
        </label>
        <label>
          ${t.admitPerTick}
          <input type="number" min="1" max="100000" required value=${form.admitPerTick} onInput=${(/** @type {FieldEvent} */ e) => setForm({ ...form, admitPerTick: e.currentTarget.value })} />
        </label>
        <label>
          ${t.maxActive}
          <input type="number" min="1" max="10000000" required value=${form.maxActive} onInput=${(/** @type {FieldEvent} */ e) => setForm({ ...form, maxActive: e.currentTarget.value })} />
        </label>
        <button type="submit" disabled=${busy}>${t.apply}</button>
      </form>
      <form class="inline" onSubmit=${applyAdaptive} aria-label=${t.adaptive}>
        <label class="check">
          <input type="checkbox" role="switch" checked=${adaptive.enabled} onChange=${(/** @type {FieldEvent} */ e) => setAdaptive({ ...adaptive, enabled: /** @type {HTMLInputElement} */ (e.currentTarget).checked })} />
          ${t.adaptiveSwitch}
        </label>
        ${adaptiveField('minAdmitPerTick', t.minAdmitPerTick, 100_000)}
        ${adaptiveField('maxAdmitPerTick', t.maxAdmitPerTick, 100_000)}
        ${adaptiveField('targetLatencyMs', t.targetLatencyMs, 60_000)}
        <button type="submit" disabled=${busy}>${t.setAdaptive}</button>
      </form>
      ${problem && html`<p role="alert" class="problem">${problem.field === 'adaptive' ? t.adaptiveCrossed : explain(t, problem)}</p>`}
    </section>
  `
}

/**
 * Whether joining takes proof of work, how many tickets one fan may buy, and the fans' refunds.
 * @param {{ t: Strings, concert: Concert, admin: AdminCall, onChanged: () => void }} props
 */
export function SaleRules({ t, concert, admin, onChanged }) {
  const [joinChallenge, setJoinChallenge] = useState(concert.joinChallenge ?? 'none')
  /** As typed; empty leaves the limit as it is. */
  const [maxTickets, setMaxTickets] = useState(/** @type {number | string} */ (concert.maxTicketsPerUser ?? ''))
  const [refunds, setRefunds] = useState(refundPolicyFields(concert.refundPolicy))
  const [problem, setProblem] = useState(/** @type {Problem | { code: 'UNSUPPORTED' } | undefined} */ (undefined))
  const [note, setNote] = useState(/** @type {string | undefined} */ (undefined))
  const save = async (/** @type {Event} */ event) => {
    event.preventDefault()
    setProblem(undefined)
    setNote(undefined)
    /** @type {Partial<Pick<Concert, 'joinChallenge' | 'maxTicketsPerUser' | 'refundPolicy'>>} */
    const body = { joinChallenge }
    body.refundPolicy = refundPolicyBody(refunds)
    if (maxTickets !== '') body.maxTicketsPerUser = Number(maxTickets)
    try {
      await admin('PATCH', `/v1/admin/concerts/${concert.concertId}`, { body })
      setNote(t.saved)
      onChanged()
    } catch (err) {
      const problem = /** @type {Problem} */ (err)
      // A server without this route answers "no route": say so rather than "not found".
      setProblem(problem.code === 'NOT_FOUND' && /no route/.test(problem.message) ? { code: 'UNSUPPORTED' } : problem)
    }
  }
  return html`
    <form class="card inline" onSubmit=${save} aria-labelledby="rules-heading">
      <h2 id="rules-heading">${t.saleRules}</h2>
      <label>
        ${t.joinChallenge}
        <select value=${joinChallenge} onChange=${(/** @type {FieldEvent} */ e) => setJoinChallenge(/** @type {Concert['joinChallenge']} */ (e.currentTarget.value))}>
          ${/** @type {const} */ (['none', 'pow']).map((c) => html`<option value=${c} key=${c}>${t.challenges[c]}</option>`)}
        </select>
      </label>
      <label>
        ${t.maxTicketsPerUser}
        <input type="number" min="1" max="1000" value=${maxTickets} onInput=${(/** @type {FieldEvent} */ e) => setMaxTickets(e.currentTarget.value)} />
      </label>
      <${RefundPolicyInputs} t=${t} fields=${refunds} onChange=${setRefunds} />
      <button type="submit">${t.save}</button>
      ${note && html`<p role="status" class="note">${note}</p>`}
      ${problem && html`<p role="alert" class="problem">${problem.code === 'UNSUPPORTED' ? t.unsupported : explain(t, problem)}</p>`}
    </form>
  `
}
