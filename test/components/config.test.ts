import { spawn } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.js'
import { redactor } from '../../src/platform/redact.js'

const tempDir = () => mkdtempSync(join(tmpdir(), 'stagedoor-config-'))
const root = fileURLToPath(new URL('../..', import.meta.url))

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
      redisPrefix: 'sd:',
      demoData: true,
      queue: {
        strategy: 'hybrid',
        admitPerTick: 100,
        tickMs: 1000,
        maxActive: 1000,
        activeIdleS: 300,
        activeMaxS: 1800,
        waitingIdleS: 300,
        adaptive: { enabled: false, minAdmitPerTick: 1, maxAdmitPerTick: 1000, targetLatencyMs: 250 },
      },
      holdTtlS: 300,
      holdMaxPerUser: 4,
      signup: 'open',
      charges: 'open',
      identity: undefined,
    })
  })

  it('when CHARGES is not set, then fans top up themselves only while demo sign-up is open; set, it is what it says', () => {
    const provider = { DATA_DIR: 'memory://', AUTH_JWKS_URL: jwksUrl, ...idp }
    expect(loadConfig({ ...provider, SIGNUP: 'open' }).charges).toBe('open')
    expect(loadConfig({ ...provider, SIGNUP: 'off' }).charges).toBe('off')
    expect(loadConfig({ ...provider, SIGNUP: 'off', CHARGES: 'open' }).charges).toBe('open')
    expect(loadConfig({ DATA_DIR: 'memory://', CHARGES: 'off' }).charges).toBe('off')
    expect(loadConfig({ DATA_DIR: 'memory://', CHARGES: '' }).charges).toBe('open')
  })

  it('when values are given as text, then numbers and booleans are parsed', () => {
    const config = loadConfig({
      DATA_DIR: 'memory://',
      PORT: '8080',
      DEMO_DATA: 'false',
      QUEUE_STRATEGY: 'cap',
      QUEUE_MAX_ACTIVE: '50',
      HOLD_TTL_S: '60',
      QUEUE_ADAPTIVE: 'true',
      QUEUE_ADAPTIVE_MAX_PER_TICK: '400',
      QUEUE_ADAPTIVE_TARGET_MS: '150',
    })
    expect(config).toMatchObject({ port: 8080, demoData: false, holdTtlS: 60 })
    expect(config.queue).toMatchObject({ strategy: 'cap', maxActive: 50 })
    expect(config.queue.adaptive).toEqual({ enabled: true, minAdmitPerTick: 1, maxAdmitPerTick: 400, targetLatencyMs: 150 })
  })

  it('when the adaptive maximum is not set, then it is ten times QUEUE_ADMIT_PER_TICK', () => {
    expect(loadConfig({ DATA_DIR: 'memory://' }).queue.adaptive.maxAdmitPerTick).toBe(1000)
    expect(loadConfig({ DATA_DIR: 'memory://', QUEUE_ADMIT_PER_TICK: '30' }).queue.adaptive.maxAdmitPerTick).toBe(300)
    expect(() => loadConfig({ DATA_DIR: 'memory://', QUEUE_ADMIT_PER_TICK: '2', QUEUE_ADAPTIVE_MIN_PER_TICK: '50' })).toThrow(
      /QUEUE_ADAPTIVE_MAX_PER_TICK/,
    )
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
    ['REDIS_PREFIX', 'a prefix with spaces'],
    ['AUTH_SECRET', 'short'],
    ['SIGNUP', 'closed'],
    ['CHARGES', 'closed'],
    ['CHARGES', 'OFF'],
    ['AUTH_JWKS_URL', 'ftp://idp.example.com/certs'],
    ['QUEUE_ADAPTIVE', 'sometimes'],
    ['QUEUE_ADAPTIVE_MIN_PER_TICK', '0'],
    ['QUEUE_ADAPTIVE_TARGET_MS', '0'],
  ])('when %s=%s, then start-up stops with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ DATA_DIR: 'memory://', [name]: value })).toThrow(ConfigError)
    expect(() => loadConfig({ DATA_DIR: 'memory://', [name]: value })).toThrow(new RegExp(`^invalid configuration:[\\s\\S]*${name}`))
  })

  it('when the hard limit is shorter than the idle limit, then start-up stops naming both', () => {
    expect(() => loadConfig({ DATA_DIR: 'memory://', QUEUE_ACTIVE_IDLE_S: '600', QUEUE_ACTIVE_MAX_S: '300' })).toThrow(
      /QUEUE_ACTIVE_MAX_S.*QUEUE_ACTIVE_IDLE_S/,
    )
  })

  it('when the adaptive maximum is below its minimum, then start-up stops naming both', () => {
    const env = { DATA_DIR: 'memory://', QUEUE_ADAPTIVE_MIN_PER_TICK: '50', QUEUE_ADAPTIVE_MAX_PER_TICK: '10' }
    expect(() => loadConfig(env)).toThrow(/QUEUE_ADAPTIVE_MAX_PER_TICK.*QUEUE_ADAPTIVE_MIN_PER_TICK/)
  })

  it('when DATABASE_URL is set without secrets, then AUTH_SECRET and ADMIN_KEY are required', () => {
    const url = 'postgres://localhost/db'
    expect(() => loadConfig({ DATABASE_URL: url, ADMIN_KEY: 'k'.repeat(20) })).toThrow(/AUTH_SECRET is required/)
    expect(() => loadConfig({ DATABASE_URL: url, AUTH_SECRET: 's'.repeat(32) })).toThrow(/ADMIN_KEY is required/)
    const config = loadConfig({ DATABASE_URL: url, AUTH_SECRET: 's'.repeat(32), ADMIN_KEY: 'k'.repeat(20) })
    expect(config).toMatchObject({ adminKeyCreated: false, adminKeyFile: undefined })
  })

  it('when embedded secrets are generated, then they are kept in DATA_DIR and reused on the next start', () => {
    const dir = tempDir()
    const first = loadConfig({ DATA_DIR: dir })
    expect(first.authSecret.length).toBeGreaterThanOrEqual(32)
    expect(first).toMatchObject({ adminKeyCreated: true, adminKeyFile: join(dir, 'admin-key') })
    expect(readFileSync(join(dir, 'auth-secret'), 'utf8').trim()).toBe(first.authSecret)
    expect(statSync(join(dir, 'auth-secret')).mode & 0o077).toBe(0)
    const second = loadConfig({ DATA_DIR: dir })
    expect(second.authSecret).toBe(first.authSecret)
    expect(second.adminKey).toBe(first.adminKey)
    // Only the start that made the key may show it.
    expect(second).toMatchObject({ adminKeyCreated: false, adminKeyFile: join(dir, 'admin-key') })
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

describe('secrets kept in DATA_DIR', () => {
  it.each([
    ['auth-secret', '', 'authSecret', 32],
    ['auth-secret', 'only-31-characters-long-secret!\n', 'authSecret', 32],
    ['admin-key', '', 'adminKey', 16],
    ['admin-key', 'fifteen-chars!!\n', 'adminKey', 16],
  ] as const)(
    'when %s holds %j (a start that died before writing it), then it is replaced by a full secret',
    (name, content, field, min) => {
      const dir = tempDir()
      const file = join(dir, name)
      writeFileSync(file, content, { mode: 0o644 })
      const before = statSync(file)
      const config = loadConfig({ DATA_DIR: dir })
      expect(config[field].length).toBeGreaterThanOrEqual(min)
      expect(readFileSync(file, 'utf8').trim()).toBe(config[field])
      const after = statSync(file)
      // A new file renamed into place, not the old one written over: a reader never sees it half-written.
      expect(after.ino).not.toBe(before.ino)
      expect(after.mode & 0o777).toBe(0o600)
      expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([])
      expect(loadConfig({ DATA_DIR: dir })[field]).toBe(config[field])
    },
  )

  it('when the admin key file was empty, then the start that replaced it is the one that shows the key', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'admin-key'), '')
    expect(loadConfig({ DATA_DIR: dir }).adminKeyCreated).toBe(true)
    expect(loadConfig({ DATA_DIR: dir }).adminKeyCreated).toBe(false)
  })

  it('when a secret in DATA_DIR cannot be read (a directory in its place), then start-up stops naming the file', () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'admin-key'))
    expect(() => loadConfig({ DATA_DIR: dir })).toThrow(ConfigError)
    expect(() => loadConfig({ DATA_DIR: dir })).toThrow(`invalid configuration: ${join(dir, 'admin-key')} (a secret in DATA_DIR)`)
  })

  it('when DATABASE_URL is set, then the secrets come from the environment only and DATA_DIR files are not read', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'auth-secret'), '')
    writeFileSync(join(dir, 'admin-key'), 'k'.repeat(40))
    const env = { DATA_DIR: dir, DATABASE_URL: 'postgres://localhost/db', AUTH_SECRET: 's'.repeat(32) }
    expect(() => loadConfig(env)).toThrow(/ADMIN_KEY is required/)
    const config = loadConfig({ ...env, ADMIN_KEY: 'a'.repeat(16) })
    expect(config).toMatchObject({ authSecret: 's'.repeat(32), adminKey: 'a'.repeat(16), adminKeyFile: undefined })
    expect(readFileSync(join(dir, 'auth-secret'), 'utf8')).toBe('')
  })

  /**
   * Starts `n` processes that each load the configuration of `dataDir` once they are all loaded
   * and told to go together (their stdin closes at once), and returns what each found.
   */
  async function startTogether(dataDir: string, n: number) {
    const script = `
      import { readFileSync } from 'node:fs'
      const { loadConfig } = await import('./src/config.ts')
      console.log('ready')
      readFileSync(0)
      const c = loadConfig({ DATA_DIR: process.env.DATA_DIR })
      console.log(JSON.stringify({ authSecret: c.authSecret, adminKey: c.adminKey, created: c.adminKeyCreated }))`
    const children = Array.from({ length: n }, () =>
      spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: root,
        env: { ...process.env, DATA_DIR: dataDir },
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    )
    const outputs = children.map((child) => {
      let out = ''
      child.stdout.on('data', (d) => (out += d))
      const ready = new Promise<void>((resolve) => child.stdout.on('data', () => out.startsWith('ready\n') && resolve()))
      const exited = new Promise<string>((resolve) => child.on('exit', () => resolve(out)))
      return { ready, exited }
    })
    await Promise.all(outputs.map((o) => o.ready))
    for (const child of children) child.stdin.end()
    const found = await Promise.all(outputs.map((o) => o.exited))
    return found.map((out) => JSON.parse(out.split('\n')[1]!) as { authSecret: string; adminKey: string; created: boolean })
  }

  it('when 8 processes start together on a DATA_DIR with an empty auth-secret and no admin key, then all agree on one of each', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'auth-secret'), '')
    const found = await startTogether(dir, 8)
    const authSecrets = new Set(found.map((f) => f.authSecret))
    const adminKeys = new Set(found.map((f) => f.adminKey))
    expect(authSecrets.size).toBe(1)
    expect(adminKeys.size).toBe(1)
    expect([...authSecrets][0]!.length).toBeGreaterThanOrEqual(32)
    expect(readFileSync(join(dir, 'auth-secret'), 'utf8').trim()).toBe([...authSecrets][0])
    expect(readFileSync(join(dir, 'admin-key'), 'utf8').trim()).toBe([...adminKeys][0])
    // The first to link its file made the key; only that one would show it.
    expect(found.filter((f) => f.created)).toHaveLength(1)
  }, 120_000)
})

describe('secrets in configuration errors', () => {
  const password = 'Sup3r-Secret-Pw'
  it.each([
    ['ADMIN_KEY', 'short-secret-1', 'ADMIN_KEY (value not shown): must not have fewer than 16 characters'],
    ['AUTH_SECRET', 'a-secret-of-31-characters-only!', 'AUTH_SECRET (value not shown): must not have fewer than 32 characters'],
    ['DATABASE_URL', `mysql://user:${password}@db.example.com/stagedoor`, 'DATABASE_URL="mysql://user:***@db.example.com/stagedoor"'],
    ['DATABASE_URL', `postgres:/user:${password}@db.example.com/stagedoor`, 'DATABASE_URL="***@db.example.com/stagedoor"'],
    ['REDIS_URL', `http://:${password}@cache.example.com:6379`, 'REDIS_URL="http://:***@cache.example.com:6379"'],
    ['AUTH_JWKS_URL', `ftp://idp:${password}@idp.example.com/certs`, 'AUTH_JWKS_URL="ftp://idp:***@idp.example.com/certs"'],
    [
      'AUTH_JWKS_URL',
      `https://idp:${password}@[idp.example.com/certs`,
      'AUTH_JWKS_URL="https://idp:***@[idp.example.com/certs": not a URL',
    ],
  ])('when %s is invalid, then the message names it without its secret', (name, value, shown) => {
    const env = { DATA_DIR: 'memory://', [name]: value, ...(name === 'AUTH_JWKS_URL' ? idp : {}) }
    let message = ''
    try {
      loadConfig(env)
    } catch (err) {
      message = (err as ConfigError).message
    }
    expect(message).toContain(shown)
    expect(message).not.toContain(value)
    expect(message).not.toContain(password)
  })

  it('when the configuration is valid, then the values that no log line may show are the secrets and the URL passwords', () => {
    const config = loadConfig({
      DATA_DIR: 'memory://',
      DATABASE_URL: `postgres://user:${password}@db.example.com/stagedoor`,
      REDIS_URL: 'redis://cache.example.com:6379',
      AUTH_SECRET: 's'.repeat(32),
      ADMIN_KEY: 'k'.repeat(16),
    })
    expect(config.secretValues.sort()).toEqual([password, 'k'.repeat(16), 's'.repeat(32)].sort())
  })
})

describe('log redaction', () => {
  it('when a log line holds a URL password or a secret value, then it shows *** in its place', () => {
    const redact = redactor(['s3cret/with"quote', 'p%40ssword-1'])
    expect(redact('connect redis://user:p@ss@cache:6379/0 failed')).toBe('connect redis://user:***@cache:6379/0 failed')
    expect(redact('{"input":"postgres://:pw@db/x","a":"b@c"}')).toBe('{"input":"postgres://:***@db/x","a":"b@c"}')
    expect(redact(JSON.stringify({ msg: 'key s3cret/with"quote' }))).toBe('{"msg":"key ***"}')
    expect(redact('password p@ssword-1 and p%40ssword-1')).toBe('password *** and ***')
    expect(redact('a user without password: postgres://user@db/x')).toBe('a user without password: postgres://user@db/x')
  })

  it('when a secret value is shorter than a word, then only the URL rule hides it', () => {
    expect(redactor(['test'])('the test database at postgres://u:test@db/test')).toBe('the test database at postgres://u:***@db/test')
  })
})
