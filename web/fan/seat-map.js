// Where a seat number is in a compact seat map: seats are counted through the sections in order,
// row by row, from 1.

/** The section, row and seat-in-row of a seat number, or undefined beyond the map. */
export function locate(sections, seatNo) {
  for (const section of sections) {
    const offset = seatNo - section.firstSeatNo
    if (offset >= 0 && offset < section.rows * section.seatsPerRow) {
      return { section, row: Math.floor(offset / section.seatsPerRow) + 1, seat: (offset % section.seatsPerRow) + 1 }
    }
  }
  return undefined
}

export const seatNumber = (section, row, seat) => section.firstSeatNo + (row - 1) * section.seatsPerRow + seat - 1

/** The free seat nearest the front and the middle of its row, in the sections' order. */
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

/** A full map's seats as the compact map's sections, so both are read the same way. */
export function sectionsOfFullMap(seats) {
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
