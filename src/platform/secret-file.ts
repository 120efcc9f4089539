import { randomBytes } from 'node:crypto'
import {
  closeSync,
  fstatSync,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'

export interface KeptSecret {
  value: string
  /** True on the start that wrote the file (so this is the one chance to show a new secret). */
  created: boolean
}

/** A start's leftovers (temporary files of a start that died, a replaced file's successor) are removed after this. */
const LEFTOVER_AGE_MS = 60_000
/** Each round sees a file another process has just published; a file that changes more often than this is not ours. */
const ROUNDS = 5

/**
 * The secret kept in `file`: read back, or made by `generate` when the file is missing or holds
 * fewer than `minLength` characters (a start that died between creating and writing it).
 *
 * A file only ever appears complete: it is written under a temporary name (mode 0600), then linked
 * or renamed into place. Processes starting together agree on one secret. A missing file is
 * created by link(), which only the first can do; the others read the winner's file. A too-short
 * file is replaced by its successor: a file named after that very file (its inode and mtime),
 * which again only the first can link, and which every process that saw the short file then
 * renames into place, so a late one puts back the same secret rather than one of its own.
 */
export function keptSecret(file: string, minLength: number, generate: () => string): KeptSecret {
  for (let round = 0; round < ROUNDS; round++) {
    const found = readSecret(file)
    if (found && found.value.length >= minLength) {
      removeLeftovers(file)
      return { value: found.value, created: false }
    }
    if (!found) {
      const value = generate()
      if (publish(value, file)) return { value, created: true }
      continue
    }
    const successor = `${file}.successor-${found.ino}-${found.mtimeNs}`
    const value = generate()
    const created = publish(value, successor)
    const winner = readSecret(successor)
    if (!winner || winner.value.length < minLength) throw new Error(`${successor} is missing or too short`)
    // rename() needs a name of its own to move; over a file that already is the successor it does nothing.
    const spare = temporaryName(file)
    try {
      linkSync(successor, spare)
      renameSync(spare, file)
    } finally {
      rmSync(spare, { force: true })
    }
    return { value: winner.value, created }
  }
  throw new Error(`${file} changed ${ROUNDS} times while being read`)
}

interface FoundSecret {
  value: string
  ino: bigint
  mtimeNs: bigint
}

/** The file's trimmed content with the identity of the very file read, or undefined when there is none. */
function readSecret(file: string): FoundSecret | undefined {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  try {
    const { ino, mtimeNs } = fstatSync(fd, { bigint: true })
    return { value: readFileSync(fd, 'utf8').trim(), ino, mtimeNs }
  } finally {
    closeSync(fd)
  }
}

/** Writes `value` to a temporary file and links it as `target`: false when `target` exists already. */
function publish(value: string, target: string): boolean {
  const temporary = temporaryName(target)
  try {
    const fd = openSync(temporary, 'wx', 0o600)
    try {
      writeSync(fd, `${value}\n`)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    try {
      linkSync(temporary, target)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw err
    }
  } finally {
    rmSync(temporary, { force: true })
  }
}

const temporaryName = (file: string) => `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`

/** Removes this file's old temporary files and successors; a start that is still using one is long done. */
function removeLeftovers(file: string) {
  const dir = dirname(file)
  const prefixes = [`${basename(file)}.tmp-`, `${basename(file)}.successor-`]
  for (const name of readdirSync(dir)) {
    if (!prefixes.some((prefix) => name.startsWith(prefix))) continue
    const path = join(dir, name)
    try {
      if (Date.now() - statSync(path).mtimeMs > LEFTOVER_AGE_MS) rmSync(path, { force: true })
    } catch {
      // removed by another process meanwhile
    }
  }
}
