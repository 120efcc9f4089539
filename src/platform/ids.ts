import { randomFillSync } from 'node:crypto'

// Random bytes are drawn in blocks: one system call per 512 ids instead of one per id.
const POOL_SIZE = 512 * 10
const pool = Buffer.alloc(POOL_SIZE)
let offset = POOL_SIZE

function randomTen(target: Buffer, at: number) {
  if (offset + 10 > POOL_SIZE) {
    randomFillSync(pool)
    offset = 0
  }
  pool.copy(target, at, offset, offset + 10)
  offset += 10
}

/**
 * A UUIDv7 (RFC 9562): time-ordered, so ids sort by creation and index inserts stay local.
 * Prefixed by kind, e.g. `usr_0193…`, so an id in a log says what it names.
 */
export function newId(prefix: string, nowMs = Date.now()): string {
  const bytes = Buffer.allocUnsafe(16)
  bytes.writeUIntBE(nowMs, 0, 6)
  randomTen(bytes, 6)
  bytes[6] = (bytes[6]! & 0x0f) | 0x70
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  return `${prefix}_${bytes.toString('hex')}`
}
