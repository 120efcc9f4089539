import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A file holding the image of an embedded database with every migration applied. */
    embeddedImageFile: string
  }
}

const root = fileURLToPath(new URL('../..', import.meta.url))
/** Gitignored; images of earlier schemas are removed when a new one is made. */
const folder = join(root, '.tmp')

/**
 * Runs once before any test file (vitest's global setup): an embedded database with every
 * migration applied, kept as an image, so that each test app on PGlite starts from a copy of it
 * instead of making and migrating its own, which costs several times more. The image is made again
 * whenever what shapes the schema changes (the migrations, the SQL files, PGlite itself); the app
 * still migrates each copy when it starts, so a copy always ends at the current schema.
 */
export async function setup(project: TestProject) {
  const file = join(folder, `embedded-image-${schemaHash()}.tar`)
  if (!existsSync(file)) {
    mkdirSync(folder, { recursive: true })
    const image = await migratedImage()
    for (const old of readdirSync(folder).filter((f) => f.startsWith('embedded-image-'))) rmSync(join(folder, old), { force: true })
    // Written whole, then renamed: a run that starts meanwhile never reads half an image.
    writeFileSync(`${file}.${process.pid}`, image)
    renameSync(`${file}.${process.pid}`, file)
  }
  project.provide('embeddedImageFile', file)
}

async function migratedImage(): Promise<Buffer> {
  const [{ PGlite }, { Kysely }, { migrateDatabase }, { PGliteDialect }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('kysely'),
    import('../../src/app.js'),
    import('../../src/platform/db/pglite-dialect.js'),
  ])
  const pglite = new PGlite()
  const db = new Kysely<any>({ dialect: new PGliteDialect(pglite) })
  try {
    await migrateDatabase(db)
    // Made for test apps to start from quickly: without the template databases, which nothing
    // here creates a database from (two thirds of the files to unpack), and with shared buffers
    // of 16 MB instead of 128 MB to set up at each start.
    for (const statement of [
      'alter database template0 is_template false',
      'drop database template0',
      'alter database template1 is_template false',
      'drop database template1',
      "alter system set shared_buffers = '16MB'",
      'checkpoint',
    ]) {
      await pglite.exec(statement)
    }
    return Buffer.from(await (await pglite.dumpDataDir('none')).arrayBuffer())
  } finally {
    await db.destroy()
  }
}

/** A hash of everything that shapes the image: the migrated schema, PGlite, and how the image is made (this file). */
function schemaHash(): string {
  const hash = createHash('sha256')
  const pglite = JSON.parse(readFileSync(join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string }
  hash.update(pglite.version).update(readFileSync(fileURLToPath(import.meta.url)))
  const src = join(root, 'src')
  const files = readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((f) => f.isFile())
    .map((f) => relative(src, join(f.parentPath, f.name)))
    .filter((f) => f.endsWith('.sql') || f.startsWith(join('platform', 'db')))
    .sort()
  for (const f of files) hash.update(f).update(readFileSync(join(src, f)))
  return hash.digest('hex').slice(0, 16)
}
