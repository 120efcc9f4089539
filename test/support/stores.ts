import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { afterAll, inject } from 'vitest'

import { POSTGRES_URL, REDIS_URL } from './machine.js'

export { REDIS_URL }

export interface StoreTarget {
  name: string
  /** Config values selecting a fresh, empty database for this target. */
  fresh(): Promise<{ databaseUrl?: string; redisUrl?: string; dataDir: string }>
}

const createdSchemas: string[] = []

/** A fresh schema on the test PostgreSQL; its URL routes every connection there. */
export async function freshPostgresSchema(): Promise<string> {
  const schema = `t_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  try {
    await client.query(`create schema ${schema}`)
  } finally {
    await client.end()
  }
  createdSchemas.push(schema)
  const url = new URL(POSTGRES_URL)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return url.toString()
}

afterAll(async () => {
  if (createdSchemas.length === 0) return
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  try {
    for (const schema of createdSchemas.splice(0)) await client.query(`drop schema ${schema} cascade`)
  } finally {
    await client.end()
  }
})

/**
 * A Blob whose bytes come back at once, copied: Node's own `arrayBuffer()` reads a Blob in small
 * chunks and joins them, which costs a tenth of a second of each test app's start.
 */
class ImageBlob extends Blob {
  readonly #image: Uint8Array

  constructor(image: Uint8Array) {
    super([image])
    this.#image = image
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    // A copy of its own (a Buffer's slice would share the bytes).
    return new Uint8Array(this.#image).buffer
  }
}

let image: Blob | undefined

/**
 * The embedded database with every migration applied, made once for the run by the global setup
 * (`embedded-image.ts`): test apps on PGlite start from a copy of it.
 */
export function embeddedImage(): Blob {
  image ??= new ImageBlob(readFileSync(inject('embeddedImageFile')))
  return image
}

export const pgliteTarget: StoreTarget = {
  name: 'pglite',
  fresh: async () => ({ dataDir: 'memory://' }),
}

export const postgresTarget: StoreTarget = {
  name: 'postgres',
  fresh: async () => ({ databaseUrl: await freshPostgresSchema(), dataDir: 'memory://' }),
}

/**
 * `TEST_STORES=embedded` (what `npm run test:fast` sets): the run uses the embedded store alone and
 * needs neither PostgreSQL nor Redis.
 */
const embeddedOnly = process.env.TEST_STORES === 'embedded'

/**
 * The stores this run tests of `all`: every one, or under `TEST_STORES=embedded` PGlite alone. A
 * suite runs on each with `describe.each(storesOf(…))`; one on an absent store registers no test.
 */
export const storesOf = (...all: StoreTarget[]): StoreTarget[] => (embeddedOnly ? all.filter((t) => t === pgliteTarget) : all)

/** Every database the product supports: suites run once per entry. */
export const databaseTargets: StoreTarget[] = storesOf(pgliteTarget, postgresTarget)

export const postgresRedisTarget: StoreTarget = {
  name: 'postgres+redis',
  fresh: async () => ({ databaseUrl: await freshPostgresSchema(), redisUrl: REDIS_URL, dataDir: 'memory://' }),
}

/** Every deployment shape: embedded, PostgreSQL alone, PostgreSQL with Redis. */
export const deploymentTargets: StoreTarget[] = storesOf(pgliteTarget, postgresTarget, postgresRedisTarget)
