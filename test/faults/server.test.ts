import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { testSecrets } from '../support/app.js'
import { runServerToExit, startServer } from '../support/process.js'
import { freshPostgresSchema } from '../support/stores.js'

describe('the server process', () => {
  it("when started on embedded defaults, then it serves the demo concerts, its database files are its owner's only, and it stops cleanly on SIGTERM", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stagedoor-server-'))
    const server = await startServer({ DATA_DIR: dataDir, LOG_LEVEL: 'info' })
    const res = await fetch(`${server.url}/v1/concerts`)
    expect(res.status).toBe(200)
    const { items } = (await res.json()) as { items: unknown[] }
    expect(items).toHaveLength(2)
    // The embedded database made its files in a folder of DATA_DIR that only its owner reads.
    expect(statSync(join(dataDir, 'pgdata')).mode & 0o777).toBe(0o700)
    // stdout is not a terminal (a log collector, here the test): the log says where the key is, not what.
    const adminKey = readFileSync(join(dataDir, 'admin-key'), 'utf8').trim()
    await expect.poll(() => server.output()).toContain(`admin key (X-Admin-Key): in ${join(dataDir, 'admin-key')}`)
    // Nor does any other line show it, whatever put it there (here a request's URL).
    expect((await fetch(`${server.url}/v1/concerts?key=${adminKey}`)).status).toBe(200)
    await expect.poll(() => server.output()).toContain('/v1/concerts?key=***')
    expect(server.output()).not.toContain(adminKey)
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

  it('when stdout is a terminal, then the admin key is shown on the start that made it and only there', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stagedoor-server-'))
    const first = await startServer({ DATA_DIR: dataDir }, 30_000, [], { terminal: true })
    const adminKey = readFileSync(join(dataDir, 'admin-key'), 'utf8').trim()
    await expect.poll(() => first.output()).toContain(`admin key (X-Admin-Key): ${adminKey}, kept in ${join(dataDir, 'admin-key')}`)
    expect(await first.stop()).toBe(0)
    const again = await startServer({ DATA_DIR: dataDir, LOG_LEVEL: 'info' }, 30_000, [], { terminal: true })
    await expect.poll(() => again.output()).toContain(`in ${join(dataDir, 'admin-key')}`)
    expect(again.output()).not.toContain(adminKey)
    expect(await again.stop()).toBe(0)
  })

  it('when a URL with a password fails at start, then no line the process writes shows the password', async () => {
    const password = 'Sup3r-Secret-Pw'
    // A port out of range: ioredis throws an error that carries the whole URL.
    const { code, output } = await runServerToExit({
      ...testSecrets,
      DATA_DIR: 'memory://',
      REDIS_URL: `redis://stagedoor:${password}@127.0.0.1:99999/0`,
    })
    expect(code).toBe(1)
    expect(output).toContain('stagedoor failed to start')
    expect(output).toContain('redis://stagedoor:***@127.0.0.1:99999/0')
    expect(output).not.toContain(password)
  })

  it('when a setting is invalid, then the process exits 1 with a message naming the variable', async () => {
    const { code, output } = await runServerToExit({ DATA_DIR: 'memory://', QUEUE_STRATEGY: 'lottery' })
    expect(code).toBe(1)
    expect(output).toContain('QUEUE_STRATEGY')
    const prod = await runServerToExit({ DATABASE_URL: 'postgres://127.0.0.1/test', ADMIN_KEY: testSecrets.ADMIN_KEY })
    expect(prod.code).toBe(1)
    expect(prod.output).toContain('AUTH_SECRET is required')
    const short = await runServerToExit({ DATA_DIR: 'memory://', ADMIN_KEY: 'short-secret-1' })
    expect(short.code).toBe(1)
    expect(short.output).toContain('ADMIN_KEY (value not shown)')
    expect(short.output).not.toContain('short-secret-1')
  })
})
