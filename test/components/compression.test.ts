import { readFileSync } from 'node:fs'
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { admittedFans, createConcert, createUser, holdSeat, json, readBalance, seatMap, sharedTestApp } from '../support/app.js'
import { pgliteTarget } from '../support/stores.js'

/** A 60,000-seat stadium in 100 blocks of 6 rows × 100 seats: its compact map is some 8 KB of sections alone. */
const STADIUM = Array.from({ length: 100 }, (_, i) => ({
  name: `Block ${String(i + 1).padStart(3, '0')}`,
  rows: 6,
  seatsPerRow: 100,
  price: 100_000 + i * 1000,
}))

describe('compressed answers', () => {
  const t = sharedTestApp(pgliteTarget)

  it('when a large seat map is asked for with gzip or br, then it comes compressed, decodes to the same JSON and is the same bytes each time', async () => {
    const { concertId, scheduleId } = await createConcert(t, { sections: STADIUM })
    const [fan] = await admittedFans(t, concertId, 1)
    expect((await holdSeat(t, fan!.headers, scheduleId, 59_999)).statusCode).toBe(201)
    const url = `/v1/schedules/${scheduleId}/seats?format=compact`
    const read = (encoding?: string) =>
      t.app.inject({ url, headers: { ...fan!.headers, ...(encoding ? { 'accept-encoding': encoding } : {}) } })

    const plain = await seatMap(t, fan!.headers, scheduleId)
    expect(plain.statusCode).toBe(200)
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.rawPayload.length).toBeGreaterThan(4096)
    expect(json(plain)).toMatchObject({ totalSeats: 60_000, held: [59_999], sold: [] })

    const gzip = await read('gzip')
    expect(gzip.statusCode).toBe(200)
    expect(gzip.headers).toMatchObject({
      'content-encoding': 'gzip',
      'content-type': 'application/json; charset=utf-8',
      vary: 'accept-encoding',
      // The API's own headers are still said.
      'x-content-type-options': 'nosniff',
    })
    expect(Number(gzip.headers['content-length'])).toBe(gzip.rawPayload.length)
    expect(gzip.rawPayload.length).toBeLessThan(plain.rawPayload.length / 4)
    expect(gunzipSync(gzip.rawPayload).equals(plain.rawPayload)).toBe(true)

    // What a browser says: br is preferred.
    const br = await read('gzip, deflate, br, zstd')
    expect(br.headers['content-encoding']).toBe('br')
    expect(JSON.parse(brotliDecompressSync(br.rawPayload).toString())).toEqual(json(plain))

    // The cached map's compressed body is kept with it: the same bytes again.
    expect((await read('gzip')).rawPayload.equals(gzip.rawPayload)).toBe(true)
    // Refused encodings are not used.
    for (const refusing of ['identity', 'gzip;q=0, br;q=0', 'deflate']) {
      const res = await read(refusing)
      expect(res.headers['content-encoding'], refusing).toBeUndefined()
      expect(res.rawPayload.equals(plain.rawPayload), refusing).toBe(true)
    }

    // A new hold makes a new map, compressed afresh.
    expect((await holdSeat(t, fan!.headers, scheduleId, 60_000)).statusCode).toBe(201)
    expect(JSON.parse(gunzipSync((await read('gzip')).rawPayload).toString())).toMatchObject({ held: [59_999, 60_000] })
  })

  it('when a seat map is under 2 KB, then it goes as it is', async () => {
    const { concertId, scheduleId } = await createConcert(t, { sections: [{ name: 'A', rows: 1, seatsPerRow: 10, price: 1000 }] })
    const [fan] = await admittedFans(t, concertId, 1)
    const res = await t.app.inject({ url: `/v1/schedules/${scheduleId}/seats`, headers: { ...fan!.headers, 'accept-encoding': 'gzip' } })
    expect(res.statusCode).toBe(200)
    expect(res.rawPayload.length).toBeLessThan(2048)
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(json(res).seats).toHaveLength(10)
  })

  it('when a fan joins and polls with gzip accepted, then the answers are not compressed', async () => {
    const { concertId } = await createConcert(t)
    const u = await createUser(t)
    const joined = await t.app.inject({
      method: 'POST',
      url: `/v1/concerts/${concertId}/queue`,
      headers: { ...u.auth, 'accept-encoding': 'gzip, br' },
    })
    expect(joined.statusCode).toBe(201)
    expect(joined.headers['content-encoding']).toBeUndefined()
    const status = await t.app.inject({
      url: '/v1/queue/status',
      headers: { 'queue-token': json(joined).token, 'accept-encoding': 'gzip, br' },
    })
    expect(status.statusCode).toBe(200)
    expect(status.headers['content-encoding']).toBeUndefined()
    expect(status.headers.vary).toBeUndefined()
    expect(json(status)).toMatchObject({ concertId, status: 'WAITING', position: 1 })
  })

  it('when another large JSON answer is asked for with gzip, then it comes compressed; a small one does not', async () => {
    const plain = await t.app.inject('/openapi.json')
    const gzip = await t.app.inject({ url: '/openapi.json', headers: { 'accept-encoding': 'gzip' } })
    expect(gzip.statusCode).toBe(200)
    expect(gzip.headers['content-encoding']).toBe('gzip')
    expect(JSON.parse(gunzipSync(gzip.rawPayload).toString())).toEqual(json(plain))

    const list = await t.app.inject({ url: '/v1/concerts', headers: { 'accept-encoding': 'gzip' } })
    expect(list.statusCode).toBe(200)
    expect(list.headers['content-encoding']).toBeUndefined()
    expect(Array.isArray(json(list).items)).toBe(true)
  })

  it("when a page's script and style are asked for with gzip, then they come compressed with the pages' headers and decode to the files", async () => {
    for (const [url, file] of [
      ['/fan/strings.js', 'web/fan/strings.js'],
      ['/shared/base.css', 'web/shared/base.css'],
    ] as const) {
      const res = await t.app.inject({ url, headers: { 'accept-encoding': 'gzip' } })
      expect(res.statusCode, url).toBe(200)
      expect(res.headers['content-encoding'], url).toBe('gzip')
      expect(res.headers['content-security-policy'], url).toBeDefined()
      expect(gunzipSync(res.rawPayload).equals(readFileSync(file)), url).toBe(true)
    }
    const page = await t.app.inject({ url: '/', headers: { 'accept-encoding': 'gzip' } })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toContain('text/html')
  })

  it('when a request body comes gzip-encoded, then it is not inflated: 400 and the balance is untouched', async () => {
    const u = await createUser(t)
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/me/balance/charges',
      headers: { ...u.auth, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: gzipSync(JSON.stringify({ amount: 5000 })),
    })
    expect(res.statusCode).toBe(400)
    expect(json(res).code).toBe('MALFORMED_REQUEST')
    expect(await readBalance(t, u.auth)).toBe(0)
  })
})
