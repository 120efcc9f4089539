import { exportSPKI, SignJWT, UnsecuredJWT } from 'jose'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppError } from '../../src/platform/errors.js'
import { IdpTokens } from '../../src/users/idp-tokens.js'
import { UserRepository } from '../../src/users/repository.js'
import {
  admin,
  admitTick,
  chargeBalance,
  createConcert,
  createUser,
  fileTestApps,
  holdSeat,
  joinQueue,
  json,
  readBalance,
  startTestApp,
  type TestApp,
  testSecrets,
} from '../support/app.js'
import { AUDIENCE, ISSUER, idpToken, JwksServer, type SigningKey, signingKey } from '../support/identity.js'
import { databaseTargets, pgliteTarget } from '../support/stores.js'

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const jwksEnv = (jwks: JwksServer) => ({ AUTH_JWKS_URL: jwks.url, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE })

/** The answer to a Bearer-only route with this token. */
const me = (t: TestApp, token: string) => t.app.inject({ url: '/v1/me/balance', headers: bearer(token) })

const usersOf = async (t: TestApp, subject: string) =>
  (await t.app.components.database.db.selectFrom('users').selectAll().where('idp_subject', '=', subject).execute()) as {
    id: string
    idp_issuer: string
    idp_subject: string
  }[]

const userCount = async (t: TestApp) =>
  Number((await sql<{ n: string }>`select count(*) as n from users`.execute(t.app.components.database.db)).rows[0]!.n)

/** Expects a 401 UNAUTHENTICATED problem whose detail matches. */
function expectUnauthenticated(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, detail: RegExp) {
  expect(res.statusCode, JSON.stringify(res.json())).toBe(401)
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
  expect(res.json()).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 })
  expect((res.json() as { detail: string }).detail).toMatch(detail)
}

describe.each(databaseTargets)('identity provider tokens through a JWKS on $name', (target) => {
  let jwks: JwksServer
  let keys: Record<'RS256' | 'ES256' | 'EdDSA', SigningKey>
  let t: TestApp

  beforeAll(async () => {
    keys = { RS256: await signingKey('RS256'), ES256: await signingKey('ES256'), EdDSA: await signingKey('EdDSA') }
    jwks = await JwksServer.start(Object.values(keys))
    t = await startTestApp(target, jwksEnv(jwks))
  })
  afterAll(async () => {
    await t?.app.close()
    await jwks?.stop()
  })

  it.each(['RS256', 'ES256', 'EdDSA'] as const)(
    'when a %s token of the provider is sent, then its subject is a stagedoor user',
    async (alg) => {
      const sub = `fan-${alg}`
      const res = await me(t, await idpToken(keys[alg], t.clock.now(), { sub }))
      expect(res.statusCode, res.body).toBe(200)
      const [user, ...others] = await usersOf(t, sub)
      expect(others).toEqual([])
      expect(user).toMatchObject({ idp_issuer: ISSUER, idp_subject: sub })
      expect(json(res)).toEqual({ userId: user!.id, balance: 0, charges: 'open' })
    },
  )

  it('when the same subject comes with other tokens and keys, then it is the same user with the same balance', async () => {
    const sub = 'fan-returning'
    const first = await idpToken(keys.RS256, t.clock.now(), { sub })
    const charged = await chargeBalance(t, bearer(first), 70_000)
    expect(charged.statusCode, charged.body).toBe(200)
    t.clock.advanceSeconds(120)
    const second = await idpToken(keys.EdDSA, t.clock.now(), { sub })
    const third = await idpToken(keys.ES256, t.clock.now(), { sub, aud: ['another-api', AUDIENCE] })
    expect(second).not.toBe(first)
    expect(await readBalance(t, bearer(second))).toBe(70_000)
    expect(await readBalance(t, bearer(third))).toBe(70_000)
    expect(await usersOf(t, sub)).toHaveLength(1)
  })

  it('when many first requests of a new subject race, then exactly one user is created and all of them get it', async () => {
    const sub = 'fan-racing'
    const tokens = await Promise.all(Array.from({ length: 30 }, () => idpToken(keys.ES256, t.clock.now(), { sub })))
    const answers = await Promise.all(tokens.map((token) => me(t, token)))
    expect(answers.map((r) => r.statusCode)).toEqual(tokens.map(() => 200))
    const [user, ...others] = await usersOf(t, sub)
    expect(others).toEqual([])
    expect(new Set(answers.map((r) => json(r).userId))).toEqual(new Set([user!.id]))
  })

  it('when a provider user joins the queue and is admitted, then the gated routes take their token', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const auth = bearer(await idpToken(keys.EdDSA, t.clock.now(), { sub: 'fan-booking' }))
    const joined = await joinQueue(t, concertId, auth)
    expect(joined.statusCode, joined.body).toBe(201)
    await admitTick(t)
    const held = await holdSeat(t, { ...auth, 'queue-token': json(joined).token }, scheduleId, 7)
    expect(held.statusCode, held.body).toBe(201)
    const [user] = await usersOf(t, 'fan-booking')
    const mine = await t.app.inject({ url: '/v1/me/reservations', headers: auth })
    expect(json(mine).items).toMatchObject([{ seatNo: 7, status: 'HELD' }])
    expect(json(await me(t, auth.authorization.slice('Bearer '.length))).userId).toBe(user!.id)
  })

  it('when demo sign-up is open, then demo tokens keep working beside the provider tokens, checked without a promise', async () => {
    const demo = await createUser(t)
    expect(json(await me(t, demo.accessToken)).userId).toBe(demo.userId)
    const tokens = t.app.components.accessTokens
    expect(tokens.authenticate(`Bearer ${demo.accessToken}`)).toBe(demo.userId)
    const idp = await idpToken(keys.RS256, t.clock.now(), { sub: 'fan-beside-demo' })
    const first = tokens.authenticate(`Bearer ${idp}`)
    expect(first).toBeInstanceOf(Promise)
    const userId = await first
    // Verified once, the very same token is known at once until its exp.
    expect(tokens.authenticate(`Bearer ${idp}`)).toBe(userId)
    expect(userId).not.toBe(demo.userId)
  })

  describe('refusals: each a 401 problem, and no user is created', () => {
    let usersBefore: number
    /** Subjects these tests let in on purpose, next to the refusals. */
    const acceptedHere = new Set<string>()
    beforeAll(async () => {
      usersBefore = await userCount(t)
    })
    afterAll(async () => {
      expect(await userCount(t)).toBe(usersBefore + acceptedHere.size)
    })

    it('when a token is signed by another key under a known kid, then 401', async () => {
      const impostor = { ...(await signingKey('RS256')), kid: keys.RS256.kid }
      expectUnauthenticated(await me(t, await idpToken(impostor, t.clock.now())), /not valid/)
    })

    it('when a token is unsigned (alg none), then 401', async () => {
      const now = Math.floor(t.clock.now() / 1000)
      const token = new UnsecuredJWT({ sub: 'fan-unsigned' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .encode()
      expectUnauthenticated(await me(t, token), /algorithm/)
    })

    it('when a token is HS256 with the public key as its secret, then 401, in either header shape', async () => {
      const secret = new TextEncoder().encode(await exportSPKI(keys.RS256.publicKey))
      const now = Math.floor(t.clock.now() / 1000)
      const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'fan-hs256', iat: now, exp: now + 300, typ: 'access' }
      const withKid = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: keys.RS256.kid }).sign(secret)
      expectUnauthenticated(await me(t, withKid), /algorithm/)
      // Without a kid, and naming this deployment as its issuer: demo tokens are not JWTs, so it is still checked as a provider's.
      const noKid = await new SignJWT({ ...claims, iss: 'stagedoor' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(secret)
      expectUnauthenticated(await me(t, noKid), /algorithm/)
    })

    it('when a token names a kid the provider does not have, then 401', async () => {
      const stranger = await signingKey('ES256', 'no-such-kid')
      expectUnauthenticated(await me(t, await idpToken(stranger, t.clock.now())), /kid/)
    })

    it('when a token has expired, then 401 past the 30 s leeway, even one accepted before', async () => {
      const token = await idpToken(keys.ES256, t.clock.now(), { sub: 'fan-expiring' })
      expect((await me(t, token)).statusCode).toBe(200)
      acceptedHere.add('fan-expiring')
      t.clock.advanceSeconds(300 + 20)
      // Past exp but within the leeway: verified again, and still accepted.
      expect((await me(t, token)).statusCode).toBe(200)
      t.clock.advanceSeconds(15)
      expectUnauthenticated(await me(t, token), /expired/)
      const late = await idpToken(keys.RS256, t.clock.now() - 400_000)
      expectUnauthenticated(await me(t, late), /expired/)
    })

    it('when a token is not valid yet, then 401 beyond the 30 s leeway', async () => {
      const now = Math.floor(t.clock.now() / 1000)
      expectUnauthenticated(await me(t, await idpToken(keys.EdDSA, t.clock.now(), { nbf: now + 120 })), /not valid yet/)
      // Within the leeway, a provider's clock a little ahead is forgiven.
      const skewed = await idpToken(keys.EdDSA, t.clock.now(), { sub: 'fan-skewed', nbf: now + 20 })
      expect((await me(t, skewed)).statusCode).toBe(200)
      acceptedHere.add('fan-skewed')
    })

    it('when a token has another issuer or audience, then 401 naming the claim', async () => {
      expectUnauthenticated(await me(t, await idpToken(keys.RS256, t.clock.now(), { iss: 'https://evil.test/' })), /"iss"/)
      expectUnauthenticated(await me(t, await idpToken(keys.RS256, t.clock.now(), { aud: 'another-api' })), /"aud"/)
    })

    it('when a token lacks sub, exp, iss or aud, or its sub is not a short string, then 401', async () => {
      for (const claim of ['sub', 'exp', 'iss', 'aud']) {
        expectUnauthenticated(await me(t, await idpToken(keys.ES256, t.clock.now(), { [claim]: undefined })), new RegExp(`"${claim}"`))
      }
      expectUnauthenticated(await me(t, await idpToken(keys.ES256, t.clock.now(), { sub: '' })), /"sub"/)
      expectUnauthenticated(await me(t, await idpToken(keys.ES256, t.clock.now(), { sub: 's'.repeat(300) })), /"sub"/)
      expectUnauthenticated(await me(t, await idpToken(keys.ES256, t.clock.now(), { sub: 42 as unknown as string })), /"sub"/)
    })

    it('when a token is garbage, then 401', async () => {
      const good = await idpToken(keys.ES256, t.clock.now())
      const [header, payload] = good.split('.')
      const b64 = (s: string) => Buffer.from(s).toString('base64url')
      for (const token of [
        'garbage',
        'a.b.c',
        '...',
        `${header}.${payload}`,
        `${header}.${payload}.`,
        `${header}.${payload}.!!!!`,
        `${b64('[1,2]')}.${payload}.sig`,
        `${b64('{"alg":"ES256"')}.${payload}.sig`,
        `${header}.${b64('not json')}.${good.split('.')[2]}`,
        `${good}.extra`,
      ]) {
        expectUnauthenticated(await me(t, token), /not valid|algorithm|Bearer/)
      }
    })

    it('when a token is 100 KB or its kid is huge, then 401 before any key is looked up', async () => {
      const fetched = jwks.requests
      const huge = await idpToken(keys.ES256, t.clock.now(), { pad: 'x'.repeat(100 * 1024) })
      expectUnauthenticated(await me(t, huge), /too long/)
      const hugeKid = await idpToken({ ...keys.ES256, kid: 'k'.repeat(1500) }, t.clock.now())
      expectUnauthenticated(await me(t, hugeKid), /kid must be a string of at most 256/)
      const hugeHeader = await idpToken(keys.ES256, t.clock.now(), {}, { x: 'h'.repeat(3000) })
      expectUnauthenticated(await me(t, hugeHeader), /not valid/)
      const kidNotText = await idpToken(keys.ES256, t.clock.now(), {}, { kid: { nested: true } })
      expectUnauthenticated(await me(t, kidNotText), /kid must be a string/)
      expect(jwks.requests).toBe(fetched)
    })
  })
})

describe('when the JWKS endpoint fails', () => {
  let key: SigningKey
  let jwks: JwksServer
  let t: TestApp

  beforeAll(async () => {
    key = await signingKey('ES256')
  })

  const start = async () => {
    jwks = await JwksServer.start([key])
    t = await startTestApp(pgliteTarget, jwksEnv(jwks))
  }
  const end = async () => {
    await t?.app.close()
    await jwks?.stop()
  }

  it('slow before any key is known, then 503 DEPENDENCY_UNAVAILABLE within the 2 s bound, one fetch for all; then it recovers', async () => {
    await start()
    try {
      jwks.delayMs = Number.POSITIVE_INFINITY
      const tokens = await Promise.all(Array.from({ length: 5 }, (_, i) => idpToken(key, t.clock.now(), { sub: `fan-waiting-${i}` })))
      const began = performance.now()
      const answers = await Promise.all(tokens.map((token) => me(t, token)))
      const waited = performance.now() - began
      for (const res of answers) {
        expect(res.statusCode, res.body).toBe(503)
        expect(json(res)).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' })
        expect(res.headers['retry-after']).toBeDefined()
      }
      expect(waited).toBeLessThan(3500)
      expect(jwks.requests).toBe(1)
      expect(await usersOf(t, 'fan-waiting-0')).toEqual([])
      jwks.delayMs = 0
      expect((await me(t, tokens[0]!)).statusCode).toBe(200)
    } finally {
      await end()
    }
  })

  it('down before any key is known, then 503 at once, and the first answer after it counts', async () => {
    await start()
    try {
      await jwks.stop()
      const token = await idpToken(key, t.clock.now())
      const began = performance.now()
      const res = await me(t, token)
      expect(res.statusCode, res.body).toBe(503)
      expect(json(res)).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' })
      expect(performance.now() - began).toBeLessThan(1000)
      await jwks.start()
      expect((await me(t, token)).statusCode).toBe(200)
    } finally {
      await end()
    }
  })

  it('down once keys are cached, then new tokens of known kids are still accepted, and an unknown kid is refused', async () => {
    await start()
    try {
      expect((await me(t, await idpToken(key, t.clock.now(), { sub: 'fan-before' }))).statusCode).toBe(200)
      await jwks.stop()
      const during = await me(t, await idpToken(key, t.clock.now(), { sub: 'fan-during' }))
      expect(during.statusCode, during.body).toBe(200)
      expectUnauthenticated(await me(t, await idpToken(await signingKey('ES256'), t.clock.now())), /kid/)
    } finally {
      await end()
    }
  })
})

/** The app whose users the key sets below map tokens to, each set checked on its own (`IdpTokens`). */
const apps = fileTestApps()

describe('the JWKS cache past its age, with the endpoint down or slow', () => {
  // The checks within the cooldown must run inside it on a busy machine too: it is the longest.
  const timing = { timeoutMs: 300, cooldownMs: 750, maxAgeMs: 200 }
  const t = apps.shared(pgliteTarget)
  let users: UserRepository

  beforeAll(() => {
    users = new UserRepository(t.app.components.database.db)
  })

  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
  const refusal = async (work: string | Promise<string>) => {
    try {
      await work
    } catch (err) {
      return err as AppError
    }
    throw new Error('accepted')
  }

  it.each([
    ['down', (jwks: JwksServer) => jwks.stop()],
    [
      'slow',
      async (jwks: JwksServer) => {
        jwks.delayMs = Number.POSITIVE_INFINITY
      },
    ],
  ])(
    'when it is %s, then the keys of the last good fetch still verify, a new kid gets 503, and a rotated set is taken once it answers',
    async (_, fail) => {
      const key = await signingKey('RS256')
      const rotated = await signingKey('EdDSA')
      const jwks = await JwksServer.start([key])
      const observed: boolean[] = []
      const idp = new IdpTokens({
        provider: { keys: { jwksUrl: jwks.url }, issuer: ISSUER, audience: AUDIENCE },
        users,
        clock: t.clock,
        observeJwks: (_s, failed) => observed.push(failed),
        jwksTiming: timing,
      })
      try {
        const userId = await idp.authenticate(await idpToken(key, t.clock.now(), { sub: 'fan-stale' }))
        await fail(jwks)
        await pause(timing.maxAgeMs + 50)
        const began = performance.now()
        expect(await idp.authenticate(await idpToken(key, t.clock.now(), { sub: 'fan-stale' }))).toBe(userId)
        expect(performance.now() - began).toBeLessThan(timing.timeoutMs + 500)
        // Within the failure cooldown no fetch is tried again: the last good keys answer at once.
        const fetches = observed.length
        expect(await idp.authenticate(await idpToken(key, t.clock.now(), { sub: 'fan-stale' }))).toBe(userId)
        expect(await refusal(idp.authenticate(await idpToken(rotated, t.clock.now())))).toMatchObject({
          status: 503,
          code: 'DEPENDENCY_UNAVAILABLE',
        })
        expect(observed.length).toBe(fetches)

        await jwks.stop()
        jwks.delayMs = 0
        jwks.keys = [rotated]
        await jwks.start()
        await pause(timing.cooldownMs + 50)
        expect(await idp.authenticate(await idpToken(rotated, t.clock.now(), { sub: 'fan-stale' }))).toBe(userId)
        // The rotated set no longer has the old key.
        expect(await refusal(idp.authenticate(await idpToken(key, t.clock.now())))).toMatchObject({ status: 401 })
        expect(observed[0]).toBe(false)
        expect(observed).toContain(true)
      } finally {
        await jwks.stop()
      }
    },
  )
})

describe('the JWKS endpoint failing while its set is still fresh', () => {
  const t = apps.shared(pgliteTarget)
  let users: UserRepository

  beforeAll(() => {
    users = new UserRepository(t.app.components.database.db)
  })

  it('when it answers 500, then tokens with unknown kids fetch it once per cooldown, not once each, and tokens of cached keys keep working', async () => {
    const timing = { timeoutMs: 500, cooldownMs: 1000, maxAgeMs: 600_000 }
    const key = await signingKey('ES256')
    const jwks = await JwksServer.start([key])
    const idp = new IdpTokens({
      provider: { keys: { jwksUrl: jwks.url }, issuer: ISSUER, audience: AUDIENCE },
      users,
      clock: t.clock,
      jwksTiming: timing,
    })
    try {
      const userId = await idp.authenticate(await idpToken(key, t.clock.now(), { sub: 'fan-fresh-set' }))
      expect(jwks.requests).toBe(1)
      const strangers = await Promise.all(
        Array.from({ length: 50 }, async () => idpToken(await signingKey('ES256'), t.clock.now(), { sub: 'fan-unknown-kid' })),
      )
      jwks.status = 500
      // Past the cooldown since the good fetch: an unknown kid may look for a rotated key once.
      await new Promise((resolve) => setTimeout(resolve, timing.cooldownMs + 50))
      for (const token of strangers) {
        await expect(Promise.resolve().then(() => idp.authenticate(token))).rejects.toMatchObject({
          status: 503,
          code: 'DEPENDENCY_UNAVAILABLE',
        })
      }
      expect(jwks.requests).toBe(2)
      expect(await idp.authenticate(await idpToken(key, t.clock.now(), { sub: 'fan-fresh-set' }))).toBe(userId)
      expect(jwks.requests).toBe(2)
    } finally {
      await jwks.stop()
    }
  })
})

describe('one PEM public key (AUTH_PUBLIC_KEY)', () => {
  let key: SigningKey
  let t: TestApp

  beforeAll(async () => {
    key = await signingKey('ES256', 'any')
    const pem = await exportSPKI(key.publicKey)
    t = await startTestApp(pgliteTarget, { AUTH_PUBLIC_KEY: pem, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE })
  })
  afterAll(() => t?.app.close())

  it('when a token is signed by that key, then it is accepted, with or without a kid, and its sub is the user', async () => {
    const withKid = await me(t, await idpToken(key, t.clock.now(), { sub: 'fan-pem' }))
    expect(withKid.statusCode, withKid.body).toBe(200)
    const withoutKid = await me(t, await idpToken(key, t.clock.now(), { sub: 'fan-pem' }, { kid: undefined }))
    expect(json(withoutKid).userId).toBe(json(withKid).userId)
  })

  it('when a token is signed by another key or uses another of the accepted algorithms, then 401', async () => {
    expectUnauthenticated(await me(t, await idpToken(await signingKey('ES256', 'any'), t.clock.now())), /not valid/)
    expectUnauthenticated(await me(t, await idpToken(await signingKey('RS256'), t.clock.now())), /algorithm/)
    expectUnauthenticated(await me(t, await idpToken(key, t.clock.now(), { aud: 'another-api' })), /"aud"/)
  })
})

describe('demo sign-up off (SIGNUP=off)', () => {
  let key: SigningKey
  let t: TestApp

  beforeAll(async () => {
    key = await signingKey('EdDSA')
    const pem = await exportSPKI(key.publicKey)
    t = await startTestApp(pgliteTarget, { SIGNUP: 'off', AUTH_PUBLIC_KEY: pem, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE })
  })
  afterAll(() => t?.app.close())

  it('when someone signs up, then 403 SIGNUP_DISABLED and no user is created', async () => {
    const before = await userCount(t)
    const res = await t.app.inject({ method: 'POST', url: '/v1/users' })
    expect(res.statusCode).toBe(403)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(json(res)).toMatchObject({ code: 'SIGNUP_DISABLED', status: 403, type: 'urn:stagedoor:problem:signup-disabled' })
    expect(await userCount(t)).toBe(before)
  })

  it("when a demo token signed with this deployment's secret is sent, then 401: only the provider's people get in", async () => {
    expect(t.config.authSecret).toBe(testSecrets.AUTH_SECRET)
    const demo = t.app.components.accessTokens.issue('usr_from_before')
    expectUnauthenticated(await me(t, demo), /demo access tokens are not accepted/)
  })

  it('when a provider token is sent, then the user is served', async () => {
    const res = await me(t, await idpToken(key, t.clock.now(), { sub: 'fan-real' }))
    expect(res.statusCode, res.body).toBe(200)
  })

  it("when a provider's fan tops up, then 403 CHARGES_DISABLED (the default with sign-up off), and only the operator's credit adds money", async () => {
    const token = await idpToken(key, t.clock.now(), { sub: 'fan-paying' })
    const { userId, charges } = json(await me(t, token))
    expect(charges).toBe('off')
    const refused = await chargeBalance(t, bearer(token), 100_000_000)
    expect(refused.statusCode).toBe(403)
    expect(json(refused)).toMatchObject({ code: 'CHARGES_DISABLED' })
    expect(json(await me(t, token)).balance).toBe(0)
    const credited = await t.app.inject({
      method: 'POST',
      url: `/v1/admin/users/${userId}/balance/charges`,
      headers: { ...admin, 'idempotency-key': 'pi_provider_1' },
      payload: { amount: 88_000 },
    })
    expect(credited.statusCode, credited.body).toBe(200)
    expect(json(await me(t, token)).balance).toBe(88_000)
  })
})
