import { html, useEffect, useState } from '../shared/html.js'
import { formatNumber } from '../shared/i18n.js'
import { AdaptivePanel } from './adaptive.js'
import { Chart } from './chart.js'
import { QueueControls, SaleRules } from './controls.js'
import { DateItem } from './date-item.js'
import { PresaleSection } from './presale.js'
import { ScheduleForm } from './schedule-form.js'
import { explain } from './strings.js'

/**
 * @import { Concert, Page, Problem } from '../shared/api.js'
 * @import { Lang } from '../shared/i18n.js'
 * @import { AdaptiveView } from './adaptive.js'
 * @import { AdminCall } from './admin-api.js'
 * @import { QueueConfig } from './controls.js'
 * @import { OperatorDate } from './date-item.js'
 * @import { Strings } from './strings.js'
 */

/**
 * A concert's line now, as `GET /v1/admin/concerts/{id}/queue` reports it (the fields shown here).
 * @typedef {object} QueueReport
 * @property {number} waiting
 * @property {number} active
 * @property {number} admittedLastMinute
 * @property {number | null} p50WaitSeconds median wait of those admitted in the last minute
 * @property {QueueConfig} config
 * @property {AdaptiveView} adaptive
 */

/** The panel refreshes this often while it is open. */
const REFRESH_MS = 2000
/** Ten minutes of samples at one per refresh. */
const KEEP_SAMPLES = 300

/**
 * The series with one more sample each, the oldest dropped past KEEP_SAMPLES.
 * @template T
 * @param {T[][]} series
 * @param {T[]} sample
 */
const keep = (series, sample) => series.map((values, i) => [...values, /** @type {T} */ (sample[i])].slice(-KEEP_SAMPLES))

/**
 * One concert: its dates (each cancellable), a live view of its line, and the controls.
 * @param {{ t: Strings, lang: Lang, concert: Concert, admin: AdminCall, onChanged: () => void }} props
 */
export function ConcertPanel({ t, lang, concert, admin, onChanged }) {
  const { concertId } = concert
  const [report, setReport] = useState(/** @type {QueueReport | undefined} */ (undefined))
  const [dates, setDates] = useState(/** @type {OperatorDate[] | undefined} */ (undefined))
  /** Times in seconds, then waiting, active and admitted per minute at each. */
  const [samples, setSamples] = useState(/** @type {number[][]} */ ([[], [], [], []]))
  /** Times in seconds, then admitted per tick, the last decision's booking p90 (null before any) and its target. */
  const [adaptiveSamples, setAdaptiveSamples] = useState(/** @type {(number | null)[][]} */ ([[], [], [], []]))
  const [problem, setProblem] = useState(/** @type {Problem | undefined} */ (undefined))

  const loadDates = () =>
    /** @type {Promise<Page<OperatorDate>>} */ (admin('GET', `/v1/admin/concerts/${concertId}/schedules`)).then((body) =>
      setDates(body.items),
    )

  useEffect(() => {
    /** @type {number | undefined} */
    let timer
    let stopped = false
    const refresh = async () => {
      try {
        const [figures] = await Promise.all([
          /** @type {Promise<QueueReport>} */ (admin('GET', `/v1/admin/concerts/${concertId}/queue`)),
          loadDates(),
        ])
        if (stopped) return
        setReport(figures)
        setProblem(undefined)
        const now = Date.now() / 1000
        setSamples((s) => keep(s, [now, figures.waiting, figures.active, figures.admittedLastMinute]))
        const { adaptive, config } = figures
        setAdaptiveSamples((s) => keep(s, [now, adaptive.admitPerTick, adaptive.latencyP90Ms, config.adaptive.targetLatencyMs]))
      } catch (err) {
        if (!stopped) setProblem(/** @type {Problem} */ (err))
      }
      if (!stopped) timer = setTimeout(refresh, REFRESH_MS)
    }
    refresh()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [concertId])

  const available = dates?.reduce((sum, d) => sum + d.availableSeats, 0)
  const figure = (/** @type {string} */ label, /** @type {string | undefined} */ value) =>
    html`<div><dt>${label}</dt><dd>${value ?? '—'}</dd></div>`
  return html`
    <h1>${concert.title}</h1>
    <p class="note">${concert.performer} · ${concert.venue}</p>
    ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
    <section class="card" aria-labelledby="live-heading">
      <h2 id="live-heading">${t.live}</h2>
      <dl class="figures">
        ${figure(t.waiting, report && formatNumber(lang, report.waiting))}
        ${figure(t.active, report && formatNumber(lang, report.active))}
        ${figure(t.admittedPerMinute, report && formatNumber(lang, report.admittedLastMinute))}
        ${figure(t.p50Wait, report?.p50WaitSeconds != null ? t.seconds(report.p50WaitSeconds) : undefined)}
        ${figure(t.availableSeats, available !== undefined ? formatNumber(lang, available) : undefined)}
      </dl>
      <${Chart} t=${t} data=${samples} />
    </section>
    ${
      report &&
      html`<${AdaptivePanel} t=${t} lang=${lang} view=${report.adaptive} targetMs=${report.config.adaptive.targetLatencyMs} samples=${adaptiveSamples} />
      <${QueueControls} key=${concertId} t=${t} concertId=${concertId} config=${report.config} admin=${admin} onChanged=${(/** @type {QueueConfig} */ config) => setReport({ ...report, config, adaptive: { ...report.adaptive, enabled: config.adaptive.enabled } })} />`
    }
    <${SaleRules} t=${t} concert=${concert} admin=${admin} onChanged=${onChanged} />
    <${PresaleSection} t=${t} lang=${lang} concert=${concert} admin=${admin} onChanged=${onChanged} />
    <section class="card" aria-labelledby="dates-heading">
      <h2 id="dates-heading">${t.dates}</h2>
      ${dates?.length === 0 && html`<p>${t.noDates}</p>`}
      <ul class="date-list">
        ${dates?.map((d) => html`<${DateItem} key=${d.scheduleId} t=${t} lang=${lang} date=${d} admin=${admin} onChanged=${loadDates} />`)}
      </ul>
      <${ScheduleForm} t=${t} lang=${lang} concertId=${concertId} admin=${admin} onCreated=${loadDates} />
    </section>
  `
}
