import { html, useEffect, useState } from '../shared/html.js'
import { formatDate, formatNumber } from '../shared/i18n.js'
import { Chart } from './chart.js'
import { QueueControls, SaleRules } from './controls.js'
import { ScheduleForm } from './schedule-form.js'
import { explain } from './strings.js'

/** The panel refreshes this often while it is open. */
const REFRESH_MS = 2000
/** Ten minutes of samples at one per refresh. */
const KEEP_SAMPLES = 300

/** One concert: its dates, a live view of its line, and the controls. */
export function ConcertPanel({ t, lang, concert, admin, onChanged }) {
  const { concertId } = concert
  const [report, setReport] = useState()
  const [dates, setDates] = useState()
  const [samples, setSamples] = useState([[], [], [], []])
  const [problem, setProblem] = useState()

  const loadDates = () => admin('GET', `/v1/admin/concerts/${concertId}/schedules`).then((body) => setDates(body.items))

  useEffect(() => {
    let timer
    let stopped = false
    const refresh = async () => {
      try {
        const [figures] = await Promise.all([admin('GET', `/v1/admin/concerts/${concertId}/queue`), loadDates()])
        if (stopped) return
        setReport(figures)
        setProblem(undefined)
        setSamples((s) => {
          const next = [Date.now() / 1000, figures.waiting, figures.active, figures.admittedLastMinute]
          return s.map((series, i) => [...series, next[i]].slice(-KEEP_SAMPLES))
        })
      } catch (err) {
        if (!stopped) setProblem(err)
      }
      if (!stopped) timer = setTimeout(refresh, REFRESH_MS)
    }
    refresh()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [concertId])

  const available = report?.availableSeats ?? dates?.reduce((sum, d) => sum + d.availableSeats, 0)
  const figure = (label, value) => html`<div><dt>${label}</dt><dd>${value ?? '—'}</dd></div>`
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
      html`<${QueueControls} key=${concertId} t=${t} concertId=${concertId} config=${report.config} admin=${admin} onChanged=${(config) => setReport({ ...report, config })} />`
    }
    <${SaleRules} t=${t} concert=${concert} admin=${admin} onChanged=${onChanged} />
    <section class="card" aria-labelledby="dates-heading">
      <h2 id="dates-heading">${t.dates}</h2>
      ${dates?.length === 0 && html`<p>${t.noDates}</p>`}
      <ul>
        ${dates?.map(
          (d) =>
            html`<li key=${d.scheduleId}>
              ${t.dateLine(formatDate(lang, d.startsAt), formatNumber(lang, d.availableSeats), formatNumber(lang, d.totalSeats))}
            </li>`,
        )}
      </ul>
      <${ScheduleForm} t=${t} lang=${lang} concertId=${concertId} admin=${admin} onCreated=${loadDates} />
    </section>
  `
}
