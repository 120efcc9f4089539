import uPlot from 'uplot'
import { html, useEffect, useRef } from '../shared/html.js'

const HEIGHT = 220
const SPAN_S = 120

/** A lone sample would make uPlot stretch the time axis over a thousand days: draw from two on. */
const drawable = (data) => (data[0].length < 2 ? data.map(() => []) : data)

/** The queue's figures over the last minutes, drawn by uPlot; `data` is [times, ...series]. */
export function Chart({ t, data }) {
  const box = useRef()
  const plot = useRef()
  useEffect(() => {
    plot.current = new uPlot(
      {
        width: box.current.clientWidth || 600,
        height: HEIGHT,
        series: [
          {},
          { label: t.waiting, stroke: '#3a3fd1', width: 2 },
          { label: t.active, stroke: '#1f7a4d', width: 2 },
          { label: t.admittedPerMinute, stroke: '#e0432f', width: 2 },
        ],
        // At least the last two minutes across, so the first samples are not lost in a wide axis.
        scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, max - SPAN_S), max] } },
        axes: [{}, { size: 60 }],
      },
      drawable(data),
      box.current,
    )
    const resize = () => plot.current.setSize({ width: box.current.clientWidth, height: HEIGHT })
    addEventListener('resize', resize)
    return () => {
      removeEventListener('resize', resize)
      plot.current.destroy()
    }
  }, [t])
  useEffect(() => plot.current?.setData(drawable(data)), [data])
  return html`<figure class="chart" aria-label=${t.chart}><div ref=${box}></div></figure>`
}
