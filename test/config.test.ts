import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'

const tempDir = () => mkdtempSync(join(tmpdir(), 'stagedoor-config-'))

describe('configuration', () => {
  it('when nothing is set, then the embedded defaults of the spec apply', () => {
    const config = loadConfig({ DATA_DIR: tempDir() })
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      redisUrl: undefined,
      demoData: true,
      queue: {
        strategy: 'hybrid',
        admitPerTick: 100,
        tickMs: 1000,
        maxActive: 1000,
        activeIdleS: 300,
        activeMaxS: 1800,
        waitingIdleS: 300,
      },
      holdTtlS: 300,
      holdMaxPerUser: 4,
    })
  })

  it('when values are given as text, then numbers and booleans are parsed', () => {
    const config = loadConfig({
      DATA_DIR: 'memory://',
      PORT: '8080',
      DEMO_DATA: 'false',
      QUEUE_STRATEGY: 'cap',
      QUEUE_MAX_ACTIVE: '50',
      HOLD_TTL_S: '60',
    })
    expect(config).toMatchObject({ port: 8080, demoData: false, holdTtlS: 60 })
    expect(config.queue).toMatchObject({ strategy: 'cap', maxActive: 50 })
  })

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['QUEUE_STRATEGY', 'lottery'],
    ['QUEUE_TICK_MS', '1.5'],
    ['HOLD_MAX_PER_USER', '0'],
    ['DEMO_DATA', 'maybe'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['REDIS_URL', 'localhost:6379'],
    ['AUTH_SECRET', 'short'],
  ])('when %s=%s, then start-up stops with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ DATA_DIR: 'memory://', [name]: value })).toThrow(ConfigError)
    expect(() => loadConfig({ DATA_DIR: 'memory://', [name]: value })).toThrow(new RegExp(`^invalid configuration:[\\s\\S]*${name}`))
  })

  it('when the hard limit is shorter than the idle limit, then start-up stops naming both', () => {
    expect(() => loadConfig({ DATA_DIR: 'memory://', QUEUE_ACTIVE_IDLE_S: '600', QUEUE_ACTIVE_MAX_S: '300' })).toThrow(
      /QUEUE_ACTIVE_MAX_S.*QUEUE_ACTIVE_IDLE_S/,
    )
  })

  it('when DATABASE_URL is set without secrets, then AUTH_SECRET and ADMIN_KEY are required', () => {
    const url = 'postgres://localhost/db'
    expect(() => loadConfig({ DATABASE_URL: url, ADMIN_KEY: 'k'.repeat(20) })).toThrow(/AUTH_SECRET is required/)
    expect(() => loadConfig({ DATABASE_URL: url, AUTH_SECRET: 's'.repeat(32) })).toThrow(/ADMIN_KEY is required/)
    const config = loadConfig({ DATABASE_URL: url, AUTH_SECRET: 's'.repeat(32), ADMIN_KEY: 'k'.repeat(20) })
    expect(config.adminKeyGenerated).toBe(false)
  })

  it('when embedded secrets are generated, then they are kept in DATA_DIR and reused on the next start', () => {
    const dir = tempDir()
    const first = loadConfig({ DATA_DIR: dir })
    expect(first.authSecret.length).toBeGreaterThanOrEqual(32)
    expect(first.adminKeyGenerated).toBe(true)
    expect(readFileSync(join(dir, 'auth-secret'), 'utf8').trim()).toBe(first.authSecret)
    expect(statSync(join(dir, 'auth-secret')).mode & 0o077).toBe(0)
    const second = loadConfig({ DATA_DIR: dir })
    expect(second.authSecret).toBe(first.authSecret)
    expect(second.adminKey).toBe(first.adminKey)
  })
})
