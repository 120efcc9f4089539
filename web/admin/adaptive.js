import { html } from '../shared/html.js'
import { formatNumber, formatPercent } from '../shared/i18n.js'
import { AdaptiveChart, clockTime } from './chart.js'

/**
 * @import { Lang } from '../shared/i18n.js'
 * @import { Strings } from './strings.js'
 */

/**
 * Adaptive admission as `GET /v1/admin/concerts/{id}/queue` reports it: the rate now, and the last
 * decision with its window's signal (null before any).
 * @typedef {object} AdaptiveView
 * @property {boolean} enabled
 * @property {number} admitPerTick
 * @property {number | null} latencyP90Ms
 * @property {number | null} errorRate 0–1
 * @property {string | null} reason
 * @property {string | null} decision the last decision in words
 * @property {string | null} decidedAt RFC 3339
 */

/**
 * Whether adaptive admission is on, its last decision in words and when, the signal it decided on,
 * and the rate against the latency over the last minutes (`samples`: times, admitted per tick,
 * p90, target).
 * @param {{ t: Strings, lang: Lang, view: AdaptiveView, targetMs: number, samples: (number | null)[][] }} props
 */
export function AdaptivePanel({ t, lang, view, targetMs, samples }) {
  const figure = (/** @type {string} */ label, /** @type {string | undefined} */ value) =>
    html`<div><dt>${label}</dt><dd>${value ?? '—'}</dd></div>`
  return html`
    <section class="card" aria-labelledby="adaptive-heading">
      <h2 id="adaptive-heading">${t.adaptive}</h2>
      <p role="status">${view.enabled ? t.adaptiveOn : t.adaptiveOff}</p>
      <dl class="figures">
        ${figure(t.admitPerTick, formatNumber(lang, view.admitPerTick))}
        ${figure(t.latencyP90, view.latencyP90Ms === null ? undefined : t.milliseconds(formatNumber(lang, Math.round(view.latencyP90Ms))))}
        ${figure(t.errorRate, view.errorRate === null ? undefined : formatPercent(lang, view.errorRate * 100))}
      </dl>
      <p class="decision">
        <strong>${t.lastDecision}:</strong>
        ${' '}${view.decidedAt === null ? t.noDecision : html`${t.decision(view, targetMs)} <span class="note">(${t.decidedAt(clockTime(Date.parse(view.decidedAt) / 1000))})</span>`}
      </p>
      <${AdaptiveChart} t=${t} data=${samples} targetMs=${targetMs} />
    </section>
  `
}
