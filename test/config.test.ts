import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'

const tempDir = () => mkdtempSync(join(tmpdir(), 'stagedoor-config-'))

const spki = (key: { export(options: { type: 'spki'; format: 'pem' }): string | Buffer }) =>
  String(key.export({ type: 'spki', format: 'pem' }))
const ed25519Pem = spki(generateKeyPairSync('ed25519').publicKey)
const jwksUrl = 'https://idp.example.com/realms/stagedoor/protocol/openid-connect/certs'
const idp = { AUTH_ISSUER: 'https://idp.example.com/realms/stagedoor', AUTH_AUDIENCE: 'stagedoor-api' }

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
      signup: 'open',
      identity: undefined,
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
    ['SIGNUP', 'closed'],
    ['AUTH_JWKS_URL', 'ftp://idp.example.com/certs'],
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

  it('when an identity provider is given by its JWKS URL, issuer and audience, then it is configured', () => {
    const config = loadConfig({ DATA_DIR: 'memory://', AUTH_JWKS_URL: jwksUrl, ...idp, SIGNUP: 'off' })
    expect(config.identity).toEqual({ keys: { jwksUrl }, issuer: idp.AUTH_ISSUER, audience: idp.AUTH_AUDIENCE })
    expect(config.signup).toBe('off')
  })

  it('when the public key comes on one line with \\n for its line breaks, then it is read as the PEM it is', () => {
    const config = loadConfig({ DATA_DIR: 'memory://', AUTH_PUBLIC_KEY: ed25519Pem.replaceAll('\n', '\\n'), ...idp })
    expect(config.identity).toEqual({ keys: { publicKey: ed25519Pem }, issuer: idp.AUTH_ISSUER, audience: idp.AUTH_AUDIENCE })
  })

  it.each([
    ['AUTH_ISSUER', { AUTH_JWKS_URL: jwksUrl, AUTH_AUDIENCE: idp.AUTH_AUDIENCE }, /AUTH_ISSUER is required with AUTH_JWKS_URL/],
    ['AUTH_AUDIENCE', { AUTH_JWKS_URL: jwksUrl, AUTH_ISSUER: idp.AUTH_ISSUER }, /AUTH_AUDIENCE is required with AUTH_JWKS_URL/],
    ['AUTH_ISSUER', { AUTH_PUBLIC_KEY: ed25519Pem, AUTH_AUDIENCE: idp.AUTH_AUDIENCE }, /AUTH_ISSUER is required with AUTH_PUBLIC_KEY/],
    ['AUTH_AUDIENCE', { AUTH_PUBLIC_KEY: ed25519Pem, AUTH_ISSUER: idp.AUTH_ISSUER }, /AUTH_AUDIENCE is required with AUTH_PUBLIC_KEY/],
    ['AUTH_JWKS_URL', { AUTH_JWKS_URL: jwksUrl, AUTH_PUBLIC_KEY: ed25519Pem, ...idp }, /AUTH_JWKS_URL or AUTH_PUBLIC_KEY, not both/],
    ['AUTH_ISSUER', { AUTH_ISSUER: idp.AUTH_ISSUER }, /AUTH_ISSUER is set without AUTH_JWKS_URL or AUTH_PUBLIC_KEY/],
    ['AUTH_AUDIENCE', { AUTH_AUDIENCE: idp.AUTH_AUDIENCE }, /AUTH_AUDIENCE is set without/],
    ['AUTH_JWKS_URL', { AUTH_JWKS_URL: 'https://', ...idp }, /AUTH_JWKS_URL="https:\/\/": not a URL/],
    ['SIGNUP', { SIGNUP: 'off' }, /SIGNUP=off needs AUTH_JWKS_URL or AUTH_PUBLIC_KEY/],
  ])('when the identity settings lack or clash (%s), then start-up stops naming it', (_, env, message) => {
    expect(() => loadConfig({ DATA_DIR: 'memory://', ...env })).toThrow(ConfigError)
    expect(() => loadConfig({ DATA_DIR: 'memory://', ...env })).toThrow(message)
  })

  it.each([
    ['not a key', 'hello'],
    ['an RSA key under 2048 bits', spki(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey)],
    ['an EC key on P-384', spki(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)],
    ['a private key', String(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }))],
  ])('when AUTH_PUBLIC_KEY is %s, then start-up stops naming it', (_, pem) => {
    expect(() => loadConfig({ DATA_DIR: 'memory://', AUTH_PUBLIC_KEY: pem, ...idp })).toThrow(/^invalid configuration: AUTH_PUBLIC_KEY: /)
  })

  it.each([
    ['RSA 2048', spki(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)],
    ['EC P-256', spki(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)],
    ['Ed25519', ed25519Pem],
  ])('when AUTH_PUBLIC_KEY is a %s public key, then it is accepted', (_, pem) => {
    expect(loadConfig({ DATA_DIR: 'memory://', AUTH_PUBLIC_KEY: pem, ...idp }).identity).toMatchObject({ keys: { publicKey: pem } })
  })
})
