import { randomBytes } from 'node:crypto'

/**
 * Crockford's base32: digits and capitals without I, L, O and U. A person reading a code aloud or
 * typing it from a letter cannot mix up 0 and O or 1, I and L: those are read as one another.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const GROUPS = 3
const GROUP_LENGTH = 5
const SYMBOLS = GROUPS * GROUP_LENGTH
/** 15 symbols of 5 bits each: 75 random bits from node:crypto in every code. */
export const CODE_BITS = SYMBOLS * 5
/** The longest text a fan may send as a code: room for spaces and dashes around the 15 symbols. */
export const MAX_CODE_INPUT = 64

const CANONICAL = new RegExp(`^[${ALPHABET}]{${SYMBOLS}}$`)

/** The symbols in groups, the form codes are handed out and kept in: `7KQ2M-XW9PD-3HT4A`. */
const grouped = (symbols: string) => symbols.match(new RegExp(`.{${GROUP_LENGTH}}`, 'g'))!.join('-')

/** `count` fresh codes. Each symbol is the low 5 bits of its own random byte: uniform, as 256 is a multiple of 32. */
export function newCodes(count: number): string[] {
  const bytes = randomBytes(count * SYMBOLS)
  const codes: string[] = []
  for (let i = 0; i < count; i++) {
    let symbols = ''
    for (let j = 0; j < SYMBOLS; j++) symbols += ALPHABET[bytes[i * SYMBOLS + j]! & 31]
    codes.push(grouped(symbols))
  }
  return codes
}

/**
 * A code as a fan typed it, in the form it is kept in; undefined when it cannot be one. Case,
 * spaces and dashes do not matter, and O, I and L are read as 0, 1 and 1.
 */
export function canonicalCode(typed: string): string | undefined {
  if (typed.length > MAX_CODE_INPUT || !/^[0-9A-Za-z \t-]*$/.test(typed)) return undefined
  const symbols = typed
    .toUpperCase()
    .replace(/[ \t-]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1')
  return CANONICAL.test(symbols) ? grouped(symbols) : undefined
}
