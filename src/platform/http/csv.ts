import { Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'

type Cell = string | number | null

/** One field: quoted when it holds a comma, a quote or a line break, its quotes doubled (RFC 4180). */
const field = (cell: Cell) => {
  const text = cell === null ? '' : String(cell)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** One line of a CSV document (RFC 4180): the fields of a record, or of the header row, ended by CRLF. */
export const csvLine = (cells: readonly Cell[]) => `${cells.map(field).join(',')}\r\n`

/**
 * Answers with a CSV file to save as `fileName` (letters, digits, `.`, `_` and `-` only), sent as
 * its lines come: a long export is never held whole in memory.
 */
export function sendCsv(reply: FastifyReply, fileName: string, lines: AsyncIterable<string>) {
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${fileName}"`)
    .send(Readable.from(lines))
}
