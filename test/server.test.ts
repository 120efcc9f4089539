import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { testSecrets } from './support/app.js'
import { runServerToExit, startServer } from './support/process.js'
import { freshPostgresSchema } from './support/stores.js'

describe('the server process', () => {
  it('when started on embedded defaults, then it serves the demo concerts and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stagedoor-server-'))
    const server = await startServer({ DATA_DIR: dataDir, LOG_LEVEL: 'info' })
    const res = await fetch(`${server.url}/v1/concerts`)
    expect(res.status).toBe(200)
    const { items } = (await res.json()) as { items: unknown[] }
    expect(items).toHaveLength(2)
    expect(server.output()).toMatch(/admin key \(X-Admin-Key\): \S{20,}/)
    expect(await server.stop('SIGTERM')).toBe(0)

    // A restart keeps the data and does not seed twice.
    const again = await startServer({ DATA_DIR: dataDir })
    const after = (await (await fetch(`${again.url}/v1/concerts`)).json()) as { items: unknown[] }
    expect(after.items).toEqual(items)
    expect(await again.stop('SIGINT')).toBe(0)
  })

  it('when two processes start together on an empty PostgreSQL, then migrations and demo data happen once', async () => {
    const DATABASE_URL = await freshPostgresSchema()
    const [a, b] = await Promise.all([startServer({ ...testSecrets, DATABASE_URL }), startServer({ ...testSecrets, DATABASE_URL })])
    const lists = await Promise.all(
      [a, b].map(async (s) => ((await (await fetch(`${s.url}/v1/concerts`)).json()) as { items: unknown[] }).items),
    )
    expect(lists[0]).toHaveLength(2)
    expect(lists[1]).toEqual(lists[0])
    expect(await a.stop()).toBe(0)
    expect(await b.stop()).toBe(0)
  })

  it('when a setting is invalid, then the process exits 1 with a message naming the variable', async () => {
    const { code, output } = await runServerToExit({ DATA_DIR: 'memory://', QUEUE_STRATEGY: 'lottery' })
    expect(code).toBe(1)
    expect(output).toContain('QUEUE_STRATEGY')
    const prod = await runServerToExit({ DATABASE_URL: 'postgres://127.0.0.1/test', ADMIN_KEY: testSecrets.ADMIN_KEY })
    expect(prod.code).toBe(1)
    expect(prod.output).toContain('AUTH_SECRET is required')
  })
})
