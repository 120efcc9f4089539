// Where a seat number is in a compact seat map: seats are counted through the sections in order,
// row by row, from 1.

/**
 * A section of a compact seat map: its seats are numbered from `firstSeatNo`, row by row.
 * @typedef {{ name: string, firstSeatNo: number, rows: number, seatsPerRow: number, price: number }} Section
 */

/**
 * A seat of a full seat map.
 * @typedef {{ seatNo: number, section: string, row: number, price: number, status: 'AVAILABLE' | 'HELD' | 'SOLD' }} Seat
 */

/**
 * `GET /v1/schedules/{id}/seats`: every seat (`format=full`), or the sections with the seat
 * numbers held and sold (`format=compact`).
 * @typedef {{ scheduleId: string, totalSeats: number }
 *   & ({ seats: Seat[] } | { sections: Section[], held: number[], sold: number[], seats?: undefined })} SeatMap
 */

/**
 * A seat map as the page reads it, whichever its form: the sections, and the seats not free.
 * @typedef {SeatMap & { sections: Section[], taken: Set<number> }} ShownMap
 */

/** @typedef {{ section: Section, row: number, seat: number }} SeatPlace where a seat is: its section, row and seat in the row */

/**
 * The section, row and seat-in-row of a seat number, or undefined beyond the map.
 * @param {Section[]} sections
 * @param {number} seatNo
 * @returns {SeatPlace | undefined}
 */
export function locate(sections, seatNo) {
  for (const section of sections) {
    const offset = seatNo - section.firstSeatNo
    if (offset >= 0 && offset < section.rows * section.seatsPerRow) {
      return { section, row: Math.floor(offset / section.seatsPerRow) + 1, seat: (offset % section.seatsPerRow) + 1 }
    }
  }
  return undefined
}

/** @type {(section: Section, row: number, seat: number) => number} */
export const seatNumber = (section, row, seat) => section.firstSeatNo + (row - 1) * section.seatsPerRow + seat - 1

/**
 * The free seat nearest the front and the middle of its row, in the sections' order.
 * @param {Section[]} sections
 * @param {Set<number>} taken
 */
export function bestAvailable(sections, taken) {
  for (const section of sections) {
    const middle = (section.seatsPerRow + 1) / 2
    const byCentre = Array.from({ length: section.seatsPerRow }, (_, i) => i + 1).sort(
      (a, b) => Math.abs(a - middle) - Math.abs(b - middle),
    )
    for (let row = 1; row <= section.rows; row++) {
      for (const seat of byCentre) {
        const seatNo = seatNumber(section, row, seat)
        if (!taken.has(seatNo)) return seatNo
      }
    }
  }
  return undefined
}

/**
 * A full map's seats as the compact map's sections, so both are read the same way.
 * @param {Seat[]} seats
 */
export function sectionsOfFullMap(seats) {
  /** @type {Section[]} */
  const sections = []
  for (const s of seats) {
    let section = sections.at(-1)
    if (section?.name !== s.section) {
      section = { name: s.section, firstSeatNo: s.seatNo, rows: 0, seatsPerRow: 0, price: s.price }
      sections.push(section)
    }
    section.rows = Math.max(section.rows, s.row)
    if (s.row === 1) section.seatsPerRow++
  }
  return sections
}
