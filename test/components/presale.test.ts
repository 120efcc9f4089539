import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/platform/db/database.js'
import { CODE_BITS, canonicalCode, newCodes } from '../../src/presale/codes.js'
import {
  admin,
  admitTick,
  createUser,
  http,
  json,
  listen,
  presaleCodes,
  presaleConcert,
  queueStatus,
  sharedTestApp,
  startTestApp,
  type TestApp,
  type User,
} from '../support/app.js'
import { barrier } from '../support/barrier.js'
import { readThenWriteCodeUse } from '../support/negative-controls.js'
import { deploymentTargets, pgliteTarget, postgresRedisTarget, storesOf } from '../support/stores.js'

const MINUTE = 60_000
const SHAPE = /^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/

describe('presale codes themselves', () => {
  it('when codes are drawn, then each is 15 Crockford base32 symbols in three groups (75 bits), spread over all 32 symbols', () => {
    const codes = newCodes(2000)
    expect(CODE_BITS).toBe(75)
    expect(codes.every((c) => SHAPE.test(c))).toBe(true)
    expect(new Set(codes).size).toBe(2000)
    const counts = new Map<string, number>()
    for (const c of codes) for (const symbol of c.replaceAll('-', '')) counts.set(symbol, (counts.get(symbol) ?? 0) + 1)
    // 30,000 symbols, 937.5 of each expected: every one appears, none more than 20% off.
    expect(counts.size).toBe(32)
    for (const n of counts.values()) expect(Math.abs(n - 937.5)).toBeLessThan(187.5)
  })

  it('when a fan types a code, then case, spaces and dashes do not matter, O, I and L read as 0, 1 and 1, and anything else is no code', () => {
    expect(canonicalCode('7kq2m xw9pd 3ht4a')).toBe('7KQ2M-XW9PD-3HT4A')
    expect(canonicalCode('7KQ2MXW9PD3HT4A')).toBe('7KQ2M-XW9PD-3HT4A')
    expect(canonicalCode('o1lI0-aaaaa-BBBBB')).toBe('01110-AAAAA-BBBBB')
    for (const bad of [
      '',
      '7KQ2M-XW9PD-3HT4',
      '7KQ2M-XW9PD-3HT4AA',
      'UUUUU-UUUUU-UUUUU',
      '7KQ2M_XW9PD_3HT4A',
      'ẞ'.repeat(15),
      'A'.repeat(65),
    ]) {
      expect(canonicalCode(bad), bad).toBeUndefined()
    }
  })
})

describe.each(deploymentTargets)('presale codes on $name', (target) => {
  const t = sharedTestApp(target, { QUEUE_ADMIT_PER_TICK: '2', QUEUE_TICK_MS: '1000', QUEUE_MAX_ACTIVE: '1000' })
  let base: string
  beforeAll(async () => {
    base = await listen(t.app)
  })

  const at = (ms: number) => new Date(t.clock.now() + ms).toISOString()
  const codesUrl = (concertId: string) => `/v1/admin/concerts/${concertId}/presale-codes`
  const makeCodes = (concertId: string, count: number, maxUses?: number) => presaleCodes(t, concertId, count, maxUses)
  const codesOf = async (concertId: string) => json(await t.app.inject({ url: codesUrl(concertId), headers: admin })).items
  const joinWith = (concertId: string, u: User, body?: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: `/v1/concerts/${concertId}/queue`, headers: u.auth, ...(body ? { payload: body } : {}) })
  /** Fans in the concert's line, waiting or admitted. */
  const inLine = async (concertId: string) => {
    const report = json(await t.app.inject({ url: `/v1/admin/concerts/${concertId}/queue`, headers: admin }))
    return report.waiting + report.active
  }
  /** Moves the clock on by `ms`, the fans of `tokens` asking for their status each minute, as their pages would, to keep their places. */
  const waitPolling = async (ms: number, tokens: string[]) => {
    for (let passed = 0; passed < ms; passed += MINUTE) {
      t.clock.advance(Math.min(MINUTE, ms - passed))
      for (const token of tokens) await queueStatus(t, token)
    }
  }
  const refused = (res: LightMyRequestResponse, status: number, code: string) => {
    expect(res.statusCode, res.body).toBe(status)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(json(res).code).toBe(code)
  }

  it('when an operator makes codes, then 201 gives distinct codes, each listed unused for one fan unless maxUses says more', async () => {
    const { concertId } = await presaleConcert(t)
    const single = await makeCodes(concertId, 30)
    const shared = await makeCodes(concertId, 5, 20)
    expect([...single, ...shared].every((c) => SHAPE.test(c))).toBe(true)
    expect(new Set([...single, ...shared]).size).toBe(35)
    const listed = await codesOf(concertId)
    expect(listed).toHaveLength(35)
    expect(listed.map((c: { code: string }) => c.code).sort()).toEqual([...single, ...shared].sort())
    for (const c of listed) {
      expect(c).toEqual({
        code: c.code,
        maxUses: shared.includes(c.code) ? 20 : 1,
        uses: 0,
        firstUsedBy: null,
        firstUsedAt: null,
        createdAt: new Date(t.clock.now()).toISOString(),
      })
    }
  })

  it('when a fan joins during the presale with no code, an unknown one or another concert’s, then 403 says which, and nothing changes', async () => {
    const { concertId } = await presaleConcert(t)
    const other = await presaleConcert(t)
    const [code] = await makeCodes(concertId, 1)
    const [otherCode] = await makeCodes(other.concertId, 1)
    const fan = await createUser(t)
    const before = await codesOf(concertId)

    const none = await joinWith(concertId, fan)
    refused(none, 403, 'PRESALE_CODE_REQUIRED')
    expect(json(none).saleOpensAt).toBe(at(60 * MINUTE))
    refused(await joinWith(concertId, fan, {}), 403, 'PRESALE_CODE_REQUIRED')
    const unknown = newCodes(1)[0]!
    for (const bad of [unknown, otherCode!, 'hello', `${code!}X`])
      refused(await joinWith(concertId, fan, { code: bad }), 403, 'PRESALE_CODE_INVALID')

    expect(await inLine(concertId)).toBe(0)
    expect(await codesOf(concertId)).toEqual(before)
    expect((await codesOf(other.concertId))[0]).toMatchObject({ uses: 0, firstUsedBy: null })
  })

  it('when a fan joins with a code, then the fan is in line and owns the code: the same code brings the same place back, and a new one after leaving', async () => {
    const { concertId } = await presaleConcert(t)
    const [code] = await makeCodes(concertId, 1)
    const fan = await createUser(t)
    const joined = await joinWith(concertId, fan, { code: code!.toLowerCase().replaceAll('-', ' ') })
    expect(joined.statusCode, joined.body).toBe(201)
    expect(json(joined)).toMatchObject({ status: 'WAITING', position: 1 })
    expect(await codesOf(concertId)).toEqual([
      expect.objectContaining({ code, uses: 1, firstUsedBy: fan.userId, firstUsedAt: new Date(t.clock.now()).toISOString() }),
    ])

    const again = await joinWith(concertId, fan, { code })
    expect(again.statusCode).toBe(200)
    expect(json(again).token).toBe(json(joined).token)
    // A fan already in line needs no code to come back to the place.
    expect(json(await joinWith(concertId, fan)).token).toBe(json(joined).token)

    await t.app.inject({ method: 'DELETE', url: '/v1/queue', headers: { 'queue-token': json(joined).token } })
    const rejoined = await joinWith(concertId, fan, { code })
    expect(rejoined.statusCode).toBe(201)
    expect(json(rejoined).token).not.toBe(json(joined).token)
    expect((await codesOf(concertId))[0]).toMatchObject({ uses: 1, firstUsedBy: fan.userId })
  })

  it('when another fan tries a used single-use code, then 403 PRESALE_CODE_USED and nothing changes', async () => {
    const { concertId } = await presaleConcert(t)
    const [code] = await makeCodes(concertId, 1)
    const owner = await createUser(t)
    expect((await joinWith(concertId, owner, { code })).statusCode).toBe(201)
    const before = await codesOf(concertId)
    const other = await createUser(t)
    refused(await joinWith(concertId, other, { code }), 403, 'PRESALE_CODE_USED')
    expect(await inLine(concertId)).toBe(1)
    expect(await codesOf(concertId)).toEqual(before)
  })

  it('when a code may be used three times, then three distinct fans join with it, each may come back, and the fourth is refused', async () => {
    const { concertId } = await presaleConcert(t)
    const [code] = await makeCodes(concertId, 1, 3)
    const fans = await Promise.all([1, 2, 3, 4].map(() => createUser(t)))
    for (const fan of fans.slice(0, 3)) expect((await joinWith(concertId, fan, { code })).statusCode).toBe(201)
    // Coming back with it uses it no further.
    for (const fan of fans.slice(0, 3)) expect((await joinWith(concertId, fan, { code })).statusCode).toBe(200)
    refused(await joinWith(concertId, fans[3]!, { code }), 403, 'PRESALE_CODE_USED')
    expect(await inLine(concertId)).toBe(3)
    expect((await codesOf(concertId))[0]).toMatchObject({ maxUses: 3, uses: 3, firstUsedBy: fans[0]!.userId })
  })

  it('when a code is typed with O for 0, I or L for 1, in lower case and without dashes, then it is the same code', async () => {
    const { concertId } = await presaleConcert(t)
    const code = (await makeCodes(concertId, 40)).find((c) => /[01]/.test(c))!
    const typed = code.replaceAll('-', '').replaceAll('0', 'o').replaceAll('1', 'l').toLowerCase()
    expect((await joinWith(concertId, await createUser(t), { code: typed })).statusCode).toBe(201)
    expect((await codesOf(concertId)).find((c: { code: string }) => c.code === code).uses).toBe(1)
  })

  it('when the line opens, then coded fans gather unplaced; at the presale they are admitted first in drawn order; from the sale anyone joins behind them', async () => {
    const { concertId } = await presaleConcert(t, { queueIn: 10 * MINUTE, presaleIn: 20 * MINUTE, saleIn: 30 * MINUTE })
    const codes = await makeCodes(concertId, 10)
    const fans = await Promise.all(Array.from({ length: 8 }, () => createUser(t)))

    // Before the line opens, a code changes nothing: the line is not open.
    refused(await joinWith(concertId, fans[0]!, { code: codes[0] }), 409, 'QUEUE_NOT_OPEN')
    expect((await codesOf(concertId)).every((c: { uses: number }) => c.uses === 0)).toBe(true)

    // Between the line's opening and the presale: the pre-queue, which needs a code too.
    t.clock.advance(10 * MINUTE)
    refused(await joinWith(concertId, fans[0]!), 403, 'PRESALE_CODE_REQUIRED')
    const early = []
    for (let i = 0; i < 3; i++) {
      const res = await joinWith(concertId, fans[i]!, { code: codes[i] })
      expect(res.statusCode).toBe(201)
      expect(json(res)).toMatchObject({ status: 'WAITING', position: null, etaSeconds: 600 })
      early.push(json(res).token as string)
    }
    await admitTick(t)
    for (const token of early) expect(json(await queueStatus(t, token))).toMatchObject({ status: 'WAITING', position: null })

    // The presale: admission starts, the pre-queue ahead (shuffled) of those who join now.
    await waitPolling(10 * MINUTE, early)
    const presale = []
    for (let i = 3; i < 5; i++) presale.push(json(await joinWith(concertId, fans[i]!, { code: codes[i] })).token as string)
    const placesOf = async (tokens: string[]) => Promise.all(tokens.map(async (token) => json(await queueStatus(t, token)).position))
    expect((await placesOf(early)).sort()).toEqual([1, 2, 3])
    expect(await placesOf(presale)).toEqual([4, 5])
    await admitTick(t)
    const states = await Promise.all(early.map(async (token) => json(await queueStatus(t, token)).status))
    expect(states.filter((s) => s === 'ACTIVE')).toHaveLength(2)

    // The sale: no code needed, none looked at, and the newcomers stand behind everyone in line.
    await waitPolling(10 * MINUTE, [...early, ...presale])
    const plain = await joinWith(concertId, fans[5]!)
    expect(plain.statusCode).toBe(201)
    expect(json(plain).position).toBe(4)
    const usedUp = await joinWith(concertId, fans[6]!, { code: codes[0] })
    expect(usedUp.statusCode).toBe(201)
    expect(json(usedUp).position).toBe(5)
    expect((await joinWith(concertId, fans[7]!, { code: 'not a code' })).statusCode).toBe(201)
    const listed = await codesOf(concertId)
    expect(listed.filter((c: { uses: number }) => c.uses === 1)).toHaveLength(5)
    expect(listed.find((c: { code: string }) => c.code === codes[0]).firstUsedBy).toBe(fans[0]!.userId)
  })

  it('when the presale is removed, then joining needs no code; when set again, it does; each change is an event with the presale time', async () => {
    const { concertId } = await presaleConcert(t)
    const patch = (payload: Record<string, unknown>) =>
      t.app.inject({ method: 'PATCH', url: `/v1/admin/concerts/${concertId}`, headers: admin, payload })
    const removed = await patch({ presaleOpensAt: null })
    expect(removed.statusCode).toBe(200)
    expect(json(removed).presaleOpensAt).toBeNull()
    // Without a presale the sale an hour away makes this a pre-queue: in line, no code asked.
    expect(json(await joinWith(concertId, await createUser(t)))).toMatchObject({ status: 'WAITING', position: null })
    const restored = await patch({ presaleOpensAt: at(-MINUTE) })
    expect(json(restored).presaleOpensAt).toBe(at(-MINUTE))
    refused(await joinWith(concertId, await createUser(t)), 403, 'PRESALE_CODE_REQUIRED')

    await t.app.components.events.relay.runOnce()
    const events = json(await t.app.inject({ url: '/v1/admin/events?limit=1000', headers: admin })).items
    const mine = events.filter(
      (e: { type: string; data: { concertId?: string } }) => e.data.concertId === concertId && e.type.startsWith('concert.'),
    )
    expect(mine.map((e: { type: string; data: { presaleOpensAt: string | null } }) => [e.type, e.data.presaleOpensAt])).toEqual([
      ['concert.created', json(restored).presaleOpensAt],
      ['concert.updated', null],
      ['concert.updated', json(restored).presaleOpensAt],
    ])
  })

  it('when fans race for one single-use code over HTTP, then exactly one joins; for a code of five uses, exactly five', async () => {
    const { concertId } = await presaleConcert(t)
    const [single, five] = await Promise.all([makeCodes(concertId, 1), makeCodes(concertId, 1, 5)])
    const fans = await Promise.all(Array.from({ length: 30 }, () => createUser(t)))
    const race = (code: string, racers: User[]) =>
      Promise.all(racers.map((f) => http(base, 'POST', `/v1/concerts/${concertId}/queue`, { headers: f.auth, body: { code } })))

    const first = await race(single[0]!, fans.slice(0, 15))
    const won = first.filter((r) => r.status === 201)
    expect(won).toHaveLength(1)
    expect(first.filter((r) => r.status === 403 && r.body.code === 'PRESALE_CODE_USED')).toHaveLength(14)
    const winner = fans[first.indexOf(won[0]!)]!
    expect((await codesOf(concertId)).find((c: { code: string }) => c.code === single[0])).toMatchObject({
      uses: 1,
      firstUsedBy: winner.userId,
    })

    const second = await race(five[0]!, fans.slice(15))
    expect(second.filter((r) => r.status === 201)).toHaveLength(5)
    expect(second.filter((r) => r.status === 403 && r.body.code === 'PRESALE_CODE_USED')).toHaveLength(10)
    expect(await usersOfCode(t.app.components.database.db, concertId, five[0]!)).toBe(5)
    expect(await inLine(concertId)).toBe(6)
  })

  it('negative control: a use that reads the count, then writes it, lets a single-use code in for several fans', async () => {
    const { concertId } = await presaleConcert(t)
    const [code] = await makeCodes(concertId, 1)
    const fans = await Promise.all(Array.from({ length: 10 }, () => createUser(t)))
    const db = t.app.components.database.db
    const together = barrier(fans.length)
    const now = new Date(t.clock.now())
    await Promise.all(fans.map((f) => readThenWriteCodeUse(db, together, { concertId, code: code!, userId: f.userId, now })))
    expect(await usersOfCode(db, concertId, code!)).toBeGreaterThan(1)
  })

  it('when code requests are out of bounds, then 400 names the field, 404 an unknown concert, 401 without the key, and no code is made', async () => {
    const { concertId } = await presaleConcert(t)
    await makeCodes(concertId, 2)
    const before = await codesOf(concertId)
    const bad: [unknown, string][] = [
      [{ count: 0 }, 'count'],
      [{ count: 1_000_000 }, 'count'],
      [{ count: 100_001 }, 'count'],
      [{ count: 1.5 }, 'count'],
      [{ count: '10' }, 'count'],
      [{}, 'count'],
      [{ count: 1, maxUses: 0 }, 'maxUses'],
      [{ count: 1, maxUses: 1001 }, 'maxUses'],
      [{ count: 1, uses: 2 }, 'uses'],
    ]
    for (const [payload, field] of bad) {
      const res = await t.app.inject({ method: 'POST', url: codesUrl(concertId), headers: admin, payload: payload as object })
      refused(res, 400, 'VALIDATION_FAILED')
      expect(json(res).field, JSON.stringify(payload)).toBe(field)
    }
    refused(await t.app.inject({ method: 'POST', url: codesUrl('con_missing'), headers: admin, payload: { count: 1 } }), 404, 'NOT_FOUND')
    refused(await t.app.inject({ url: codesUrl('con_missing'), headers: admin }), 404, 'NOT_FOUND')
    refused(await t.app.inject({ method: 'POST', url: codesUrl(concertId), payload: { count: 1 } }), 401, 'UNAUTHENTICATED')
    refused(await t.app.inject({ url: codesUrl(concertId) }), 401, 'UNAUTHENTICATED')
    const xml = await t.app.inject({ url: `${codesUrl(concertId)}?format=xml`, headers: admin })
    refused(xml, 400, 'VALIDATION_FAILED')
    expect(json(xml).field).toBe('format')
    expect(await codesOf(concertId)).toEqual(before)
  })

  it('when a join sends a code with a NUL, of 10 KB, empty or not text, then 400 names the code, and no one joins and no code is used', async () => {
    const { concertId } = await presaleConcert(t)
    const [code] = await makeCodes(concertId, 1)
    const fan = await createUser(t)
    for (const bad of [`${code}\u0000`, 'A'.repeat(10_240), '', 12345, null, [code]]) {
      const res = await joinWith(concertId, fan, { code: bad })
      refused(res, 400, 'VALIDATION_FAILED')
      expect(json(res).field, JSON.stringify(bad).slice(0, 40)).toBe('code')
    }
    expect(await inLine(concertId)).toBe(0)
    expect((await codesOf(concertId))[0]).toMatchObject({ uses: 0, firstUsedBy: null })
  })

  it('when presaleOpensAt is out of order at creation or by a change, then 400 names it and nothing is created or changed', async () => {
    const concerts = async () => json(await t.app.inject({ url: '/v1/concerts' })).items
    const listed = await concerts()
    const hour = (h: number) => at(h * 60 * MINUTE)
    const bodies = [
      { queueOpensAt: hour(2), presaleOpensAt: hour(1), saleOpensAt: hour(3) },
      { queueOpensAt: hour(1), presaleOpensAt: hour(3), saleOpensAt: hour(3) },
      { queueOpensAt: hour(1), presaleOpensAt: hour(4), saleOpensAt: hour(3) },
      { presaleOpensAt: hour(1) },
      { queueOpensAt: hour(1), presaleOpensAt: hour(2) },
      { presaleOpensAt: 'soon', saleOpensAt: hour(3) },
    ]
    for (const body of bodies) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/admin/concerts',
        headers: admin,
        payload: { title: 'T', performer: 'P', venue: 'V', ...body },
      })
      refused(res, 400, 'VALIDATION_FAILED')
      expect(json(res).field, JSON.stringify(body)).toBe('presaleOpensAt')
      expect(json(res).detail).toContain('presaleOpensAt')
    }
    expect(await concerts()).toEqual(listed)

    const { concertId } = await presaleConcert(t, { queueIn: 60 * MINUTE, presaleIn: 120 * MINUTE, saleIn: 180 * MINUTE })
    const concert = async () => (await concerts()).find((c: { concertId: string }) => c.concertId === concertId)
    const was = await concert()
    for (const patch of [
      { presaleOpensAt: hour(4) },
      { saleOpensAt: hour(2) },
      { queueOpensAt: hour(2.5) },
      { presaleOpensAt: hour(0.5) },
    ]) {
      const res = await t.app.inject({ method: 'PATCH', url: `/v1/admin/concerts/${concertId}`, headers: admin, payload: patch })
      refused(res, 400, 'VALIDATION_FAILED')
      expect(json(res).field, JSON.stringify(patch)).toBe('presaleOpensAt')
    }
    expect(await concert()).toEqual(was)

    // Given the presale and the sale only, the line opens with the presale.
    const made = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/concerts',
      headers: admin,
      payload: { title: 'T', performer: 'P', venue: 'V', presaleOpensAt: hour(1), saleOpensAt: hour(2) },
    })
    expect(made.statusCode).toBe(201)
    expect((await concerts()).find((c: { concertId: string }) => c.concertId === json(made).concertId)).toMatchObject({
      queueOpensAt: hour(1),
      presaleOpensAt: hour(1),
      saleOpensAt: hour(2),
    })
  })

  it('when an operator makes the most codes one request may (100,000), then 201 gives them all, distinct, and the CSV lists each once', async () => {
    const { concertId } = await presaleConcert(t)
    const codes = await makeCodes(concertId, 100_000)
    expect(codes).toHaveLength(100_000)
    expect(new Set(codes).size).toBe(100_000)
    const res = await t.app.inject({ url: `${codesUrl(concertId)}?format=csv`, headers: admin })
    expect(res.statusCode).toBe(200)
    const [header, ...rows] = res.body.slice(0, -2).split('\r\n')
    expect(header).toBe('code,maxUses,uses,firstUsedBy,firstUsedAt,createdAt')
    expect(rows.map((r) => r.slice(0, r.indexOf(',')))).toEqual([...codes].sort())
  })

  it('when the codes are listed a page at a time, then every code comes once, in order, with the counts of them all', async () => {
    const { concertId } = await presaleConcert(t)
    const codes = await makeCodes(concertId, 25)
    expect((await joinWith(concertId, await createUser(t), { code: codes[3] })).statusCode).toBe(201)
    const seen: string[] = []
    let cursor: string | null = null
    const sizes: number[] = []
    do {
      const res: LightMyRequestResponse = await t.app.inject({
        url: `${codesUrl(concertId)}?limit=10${cursor ? `&cursor=${cursor}` : ''}`,
        headers: admin,
      })
      const page: { items: { code: string }[]; nextCursor: string | null } = json(res)
      expect(page).toMatchObject({ total: 25, used: 1 })
      sizes.push(page.items.length)
      seen.push(...page.items.map((c: { code: string }) => c.code))
      cursor = page.nextCursor
    } while (cursor)
    expect(sizes).toEqual([10, 10, 5])
    expect(seen).toEqual([...codes].sort())
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=10001', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=', 'cursor'],
      ['cursor=%00', 'cursor'],
      ['page=2', 'page'],
    ]) {
      const res = await t.app.inject({ url: `${codesUrl(concertId)}?${query}`, headers: admin })
      refused(res, 400, 'VALIDATION_FAILED')
      expect(json(res).field, query).toBe(field)
    }
  })

  it('when the codes are exported as CSV, then a header row and one row per code with its uses, as an attachment', async () => {
    const { concertId } = await presaleConcert(t)
    const codes = await makeCodes(concertId, 3, 2)
    const fan = await createUser(t)
    expect((await joinWith(concertId, fan, { code: codes[1] })).statusCode).toBe(201)
    const res = await t.app.inject({ url: `${codesUrl(concertId)}?format=csv`, headers: admin })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8')
    expect(res.headers['content-disposition']).toBe(`attachment; filename="presale-codes-${concertId}.csv"`)
    expect(res.body.endsWith('\r\n')).toBe(true)
    const [header, ...rows] = res.body.slice(0, -2).split('\r\n')
    expect(header).toBe('code,maxUses,uses,firstUsedBy,firstUsedAt,createdAt')
    const created = new Date(t.clock.now()).toISOString()
    expect(rows.sort()).toEqual(
      [...codes].sort().map((code) => (code === codes[1] ? `${code},2,1,${fan.userId},${created},${created}` : `${code},2,0,,,${created}`)),
    )
    // The same list as JSON, by default or asked for.
    const asJson = await t.app.inject({ url: `${codesUrl(concertId)}?format=json`, headers: admin })
    expect(asJson.headers['content-type']).toMatch(/^application\/json/)
    expect(json(asJson).items).toEqual(await codesOf(concertId))
  })
})

/** Distinct users holding a code: must never pass its maxUses. */
async function usersOfCode(db: Db, concertId: string, code: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from presale_code_uses where concert_id = ${concertId} and code = ${code}`.execute(db)
  return rows[0]!.n
}

describe.each(storesOf(pgliteTarget, postgresRedisTarget))('guessing presale codes on $name', (target) => {
  let t: TestApp
  let base: string
  beforeAll(async () => {
    t = await startTestApp(target, { RATE_JOIN_PER_MIN: '5' })
    base = await listen(t.app)
  })
  afterAll(() => t.app.close())

  it('when one address tries wrong codes, then each counts against the join limit, and after five even a right code waits', async () => {
    const { concertId } = await presaleConcert(t)
    const [code] = await presaleCodes(t, concertId, 1)
    const fans = await Promise.all(Array.from({ length: 6 }, () => createUser(t)))
    const join = (fan: User, c: string) => http(base, 'POST', `/v1/concerts/${concertId}/queue`, { headers: fan.auth, body: { code: c } })
    for (const fan of fans.slice(0, 5))
      expect(await join(fan, newCodes(1)[0]!)).toMatchObject({ status: 403, body: { code: 'PRESALE_CODE_INVALID' } })
    expect(await join(fans[5]!, code!)).toMatchObject({ status: 429, body: { code: 'RATE_LIMITED' } })
    const listed = json(await t.app.inject({ url: `/v1/admin/concerts/${concertId}/presale-codes`, headers: admin })).items
    expect(listed).toMatchObject([{ code, uses: 0 }])
  })
})
