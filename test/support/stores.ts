import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll } from 'vitest'

/** The real PostgreSQL the tests run against (each test file in a fresh schema of its own). */
const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

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

export const pgliteTarget: StoreTarget = {
  name: 'pglite',
  fresh: async () => ({ dataDir: 'memory://' }),
}

export const postgresTarget: StoreTarget = {
  name: 'postgres',
  fresh: async () => ({ databaseUrl: await freshPostgresSchema(), dataDir: 'memory://' }),
}

/** Every database the product supports: suites run once per entry. */
export const databaseTargets: StoreTarget[] = [pgliteTarget, postgresTarget]

export const postgresRedisTarget: StoreTarget = {
  name: 'postgres+redis',
  fresh: async () => ({ databaseUrl: await freshPostgresSchema(), redisUrl: REDIS_URL, dataDir: 'memory://' }),
}

/** Every deployment shape: embedded, PostgreSQL alone, PostgreSQL with Redis. */
export const deploymentTargets: StoreTarget[] = [pgliteTarget, postgresTarget, postgresRedisTarget]
