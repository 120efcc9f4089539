import uPlot from 'uplot'
import { html, useEffect, useRef, useState } from '../shared/html.js'

/** @import { Strings } from './strings.js' */

const HEIGHT = 220
const SPAN_S = 120

/**
 * A lone sample would make uPlot stretch the time axis over a thousand days: draw from two on.
 * @param {(number | null)[][]} data
 */
const drawable = (data) => /** @type {uPlot.AlignedData} */ (data[0].length < 2 ? data.map(() => []) : data)

/**
 * The time axis: at least the last two minutes, ending at the newest sample; with no samples yet,
 * the two minutes up to now (uPlot would otherwise start its axis at 1970).
 * @param {uPlot} _u
 * @param {number | null} min null with no samples
 * @param {number | null} max
 * @returns {uPlot.Range.MinMax}
 */
function timeRange(_u, min, max) {
  if (min == null || max == null) {
    const now = Date.now() / 1000
    return [now - SPAN_S, now]
  }
  return [Math.min(min, max - SPAN_S), max]
}

/**
 * A value scale from zero to a tenth above the highest value (at least 1), so a rate and a latency
 * read as amounts, not as wiggles.
 * @param {uPlot} _u
 * @param {number | null} _min
 * @param {number | null} max
 * @returns {uPlot.Range.MinMax}
 */
const fromZero = (_u, _min, max) => [0, Math.max(1, max ?? 1) * 1.1]

/** A time of day as HH:MM:SS in the viewer's zone. */
export const clockTime = (/** @type {number} */ seconds) =>
  new Date(seconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })

/**
 * Figures over the last minutes, drawn by uPlot: `data` is [times, ...one array per series], a
 * null a gap. The caption says the span the time axis shows, after `note` when there is one.
 * @param {{ t: Strings, label: string, data: (number | null)[][], series: uPlot.Series[], scales?: uPlot.Scales, axes?: uPlot.Axis[], note?: string }} props
 */
function TimeChart({ t, label, data, series, scales = {}, axes = [{}, { size: 60 }], note }) {
  // The box is there once drawn, before any effect.
  const box = useRef(/** @type {HTMLDivElement | undefined} */ (undefined))
  const plot = useRef(/** @type {uPlot | undefined} */ (undefined))
  // The span the axis shows, as its caption says it in words.
  const [span, setSpan] = useState(/** @type {[from: number, to: number] | undefined} */ (undefined))
  useEffect(() => {
    const shown = /** @type {HTMLDivElement} */ (box.current)
    const chart = new uPlot(
      {
        width: shown.clientWidth || 600,
        height: HEIGHT,
        series: [{}, ...series],
        scales: { x: { time: true, range: timeRange }, ...scales },
        axes,
        hooks: {
          setScale: [
            (u, key) => {
              // The x scale is set by the time it is told.
              if (key === 'x') setSpan(/** @type {[number, number]} */ ([u.scales.x.min, u.scales.x.max]))
            },
          ],
        },
      },
      drawable(data),
      shown,
    )
    plot.current = chart
    const resize = () => chart.setSize({ width: shown.clientWidth, height: HEIGHT })
    addEventListener('resize', resize)
    return () => {
      removeEventListener('resize', resize)
      chart.destroy()
    }
  }, [t])
  useEffect(() => plot.current?.setData(drawable(data)), [data])
  const when = span && `${t.chartSpan(clockTime(span[0]), clockTime(span[1]))}${data[0].length < 2 ? ` · ${t.chartWaiting}` : ''}`
  return html`<figure class="chart" aria-label=${label}>
    <div ref=${box}></div>
    ${span && html`<figcaption>${note ? `${note}. ` : ''}${when}</figcaption>`}
  </figure>`
}

/**
 * The queue's figures over the last minutes; `data` is [times, waiting, active, admitted per minute].
 * @param {{ t: Strings, data: number[][] }} props
 */
export function Chart({ t, data }) {
  const series = [
    { label: t.waiting, stroke: '#3a3fd1', width: 2 },
    { label: t.active, stroke: '#1f7a4d', width: 2 },
    { label: t.admittedPerMinute, stroke: '#e0432f', width: 2 },
  ]
  return html`<${TimeChart} t=${t} label=${t.chart} data=${data} series=${series} />`
}

/**
 * Adaptive admission over the last minutes: the rate per tick on the left scale, the booking p90
 * and its target (dashed) in milliseconds on the right; `data` is [times, admitted per tick, p90,
 * target], the p90 null before any decision.
 * @param {{ t: Strings, data: (number | null)[][], targetMs: number }} props
 */
export function AdaptiveChart({ t, data, targetMs }) {
  const names = t.adaptiveSeries
  // A rate and a target change in steps: drawn as steps, not slopes.
  const steps = uPlot.paths.stepped?.({ align: 1 })
  const series = [
    { label: names.admitPerTick, scale: 'rate', stroke: '#3a3fd1', width: 2, paths: steps },
    { label: names.latency, scale: 'ms', stroke: '#e0432f', width: 2 },
    { label: names.target, scale: 'ms', stroke: '#8a6d00', width: 1, dash: [6, 4], paths: steps },
  ]
  /** @type {uPlot.Scales} */
  const scales = { rate: { range: fromZero }, ms: { range: fromZero } }
  /** @type {uPlot.Axis[]} */
  const axes = [{}, { scale: 'rate', size: 60 }, { scale: 'ms', side: 1, size: 60, grid: { show: false } }]
  return html`<${TimeChart} t=${t} label=${t.adaptiveChart} data=${data} series=${series} scales=${scales} axes=${axes} note=${t.adaptiveCaption(String(targetMs))} />`
}
