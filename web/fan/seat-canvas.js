import { html, useEffect, useRef, useState } from '../shared/html.js'
import { formatNumber } from '../shared/i18n.js'
import { bestAvailable, locate, seatNumber } from './seat-map.js'

/**
 * @import { FieldEvent } from '../shared/html.js'
 * @import { Lang } from '../shared/i18n.js'
 * @import { SeatPlace, Section, ShownMap } from './seat-map.js'
 * @import { Strings } from './strings.js'
 */

/** Seat sizes in CSS pixels, one per zoom step. */
const ZOOMS = [2, 4, 6, 10]
/** Room above each section for its name. */
const LABEL = 18
const COLOURS = { free: '#2e7d5b', taken: '#c9cdd2', chosen: '#e0432f', text: '#222' }

/**
 * Where each section sits on the canvas at a seat size, centred under the widest one.
 * @param {Section[]} sections
 * @param {number} size
 */
function layoutOf(sections, size) {
  const width = Math.max(...sections.map((s) => s.seatsPerRow)) * size
  let y = 0
  const blocks = sections.map((section) => {
    const block = { section, x: Math.floor((width - section.seatsPerRow * size) / 2), y: y + LABEL }
    y = block.y + section.rows * size
    return block
  })
  return { width, height: y, blocks }
}

/**
 * Draws the seats, and says where each section and the chosen seat are drawn.
 * @param {HTMLCanvasElement} canvas
 * @param {Section[]} sections
 * @param {Set<number>} taken
 * @param {number | undefined} chosen
 * @param {number} size
 */
function draw(canvas, sections, taken, chosen, size) {
  const { width, height, blocks } = layoutOf(sections, size)
  canvas.width = width
  canvas.height = height
  // A canvas that never had another kind of context always gives a 2D one.
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'))
  ctx.font = '12px system-ui, sans-serif'
  const gap = size >= 4 ? 1 : 0
  for (const { section, x, y } of blocks) {
    ctx.fillStyle = COLOURS.text
    ctx.fillText(section.name, x, y - 5)
    ctx.fillStyle = COLOURS.free
    if (gap === 0) ctx.fillRect(x, y, section.seatsPerRow * size, section.rows * size)
    else {
      for (let r = 0; r < section.rows; r++) {
        for (let s = 0; s < section.seatsPerRow; s++) ctx.fillRect(x + s * size, y + r * size, size - gap, size - gap)
      }
    }
  }
  const at = (/** @type {number} */ seatNo) => {
    const place = locate(sections, seatNo)
    const block = place && blocks.find((b) => b.section === place.section)
    return block && [block.x + (place.seat - 1) * size, block.y + (place.row - 1) * size]
  }
  ctx.fillStyle = COLOURS.taken
  for (const seatNo of taken) {
    const xy = at(seatNo)
    if (xy) ctx.fillRect(xy[0], xy[1], size - gap, size - gap)
  }
  const mark = chosen && at(chosen)
  if (mark) {
    ctx.fillStyle = COLOURS.chosen
    ctx.fillRect(mark[0], mark[1], size, size)
    ctx.strokeStyle = COLOURS.chosen
    ctx.lineWidth = 2
    ctx.strokeRect(mark[0] - 4, mark[1] - 4, size + 8, size + 8)
  }
  return { blocks, mark }
}

/**
 * A large venue drawn from the compact seat map: one canvas, zoomable, a seat chosen by a tap,
 * by section, row and seat in the picker, or as the best one still free.
 * @param {{ t: Strings, lang: Lang, map: ShownMap, chosen: number | undefined, onChoose: (seatNo: number) => void }} props
 */
export function SeatCanvas({ t, lang, map, chosen, onChoose }) {
  // The canvas and its box are there once drawn, before any effect or tap.
  const canvas = useRef(/** @type {HTMLCanvasElement | undefined} */ (undefined))
  const scroller = useRef(/** @type {HTMLDivElement | undefined} */ (undefined))
  const drawn = useRef(/** @type {ReturnType<typeof draw> | undefined} */ (undefined))
  const [zoom, setZoom] = useState(0)
  const [sectionIndex, setSectionIndex] = useState(0)
  const [row, setRow] = useState('1')
  const [seat, setSeat] = useState('1')
  const [note, setNote] = useState(/** @type {string | undefined} */ (undefined))
  const size = ZOOMS[zoom]

  useEffect(() => {
    drawn.current = draw(/** @type {HTMLCanvasElement} */ (canvas.current), map.sections, map.taken, chosen, size)
    // Keep the chosen seat in view.
    const mark = drawn.current.mark
    const box = scroller.current
    if (mark && box) {
      box.scrollLeft = Math.max(0, mark[0] - box.clientWidth / 2)
      box.scrollTop = Math.max(0, mark[1] - box.clientHeight / 2)
    }
  }, [map, chosen, size])

  const choose = (/** @type {number | undefined} */ seatNo) => {
    if (seatNo === undefined) return setNote(t.noneAvailable)
    if (map.taken.has(seatNo)) return setNote(t.seatTakenHere)
    setNote(undefined)
    // Every seat number offered here is on the map.
    const place = /** @type {SeatPlace} */ (locate(map.sections, seatNo))
    setSectionIndex(map.sections.indexOf(place.section))
    setRow(String(place.row))
    setSeat(String(place.seat))
    onChoose(seatNo)
  }

  const tap = (/** @type {MouseEvent} */ event) => {
    const shown = /** @type {HTMLCanvasElement} */ (canvas.current)
    const rect = shown.getBoundingClientRect()
    const x = ((event.clientX - rect.left) * shown.width) / rect.width
    const y = ((event.clientY - rect.top) * shown.height) / rect.height
    for (const b of /** @type {ReturnType<typeof draw>} */ (drawn.current).blocks) {
      const s = Math.floor((x - b.x) / size) + 1
      const r = Math.floor((y - b.y) / size) + 1
      if (r >= 1 && r <= b.section.rows && s >= 1 && s <= b.section.seatsPerRow) return choose(seatNumber(b.section, r, s))
    }
  }

  const pick = (/** @type {Event} */ event) => {
    event.preventDefault()
    const section = map.sections[sectionIndex]
    const r = Number(row)
    const s = Number(seat)
    if (!(r >= 1 && r <= section.rows && s >= 1 && s <= section.seatsPerRow)) return setNote(t.errors.VALIDATION_FAILED)
    choose(seatNumber(section, r, s))
  }

  const section = map.sections[sectionIndex]
  return html`
    <div class="legend" aria-hidden="true">
      <span class="seat free"></span> ${t.legendFree} <span class="seat taken"></span> ${t.legendTaken}
      <span class="seat chosen"></span> ${t.legendChosen}
    </div>
    <div class="zoom">
      <button type="button" onClick=${() => setZoom((z) => Math.max(0, z - 1))} disabled=${zoom === 0}>${t.zoomOut}</button>
      <button type="button" onClick=${() => setZoom((z) => Math.min(ZOOMS.length - 1, z + 1))} disabled=${zoom === ZOOMS.length - 1}>
        ${t.zoomIn}
      </button>
    </div>
    <div class="canvas-box" ref=${scroller}>
      <canvas ref=${canvas} role="img" aria-label=${t.canvasLabel(formatNumber(lang, map.totalSeats))} onClick=${tap}></canvas>
    </div>
    <form class="picker" onSubmit=${pick}>
      <label>
        ${t.section}
        <select value=${sectionIndex} onChange=${(/** @type {FieldEvent} */ e) => setSectionIndex(Number(e.currentTarget.value))}>
          ${map.sections.map((s, i) => html`<option value=${i} key=${s.name}>${s.name}</option>`)}
        </select>
      </label>
      <label>
        ${t.row}
        <input type="number" min="1" max=${section.rows} value=${row} onInput=${(/** @type {FieldEvent} */ e) => setRow(e.currentTarget.value)} />
      </label>
      <label>
        ${t.seatInRow}
        <input type="number" min="1" max=${section.seatsPerRow} value=${seat} onInput=${(/** @type {FieldEvent} */ e) => setSeat(e.currentTarget.value)} />
      </label>
      <button type="submit">${t.choose}</button>
      <button type="button" onClick=${() => choose(bestAvailable(map.sections, map.taken))}>${t.bestAvailable}</button>
    </form>
    ${note && html`<p role="alert" class="problem">${note}</p>`}
  `
}
