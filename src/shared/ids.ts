import { randomBytes } from 'node:crypto'

/**
 * A UUIDv7 (RFC 9562): time-ordered, so ids sort by creation and index inserts stay local.
 * Prefixed by kind, e.g. `usr_0193…`, so an id in a log says what it names.
 */
export function newId(prefix: string, nowMs = Date.now()): string {
  const bytes = randomBytes(16)
  bytes.writeUIntBE(nowMs, 0, 6)
  bytes[6] = (bytes[6]! & 0x0f) | 0x70
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  return `${prefix}_${bytes.toString('hex')}`
}
