import { describe, expect, it } from 'vitest'
import {
  admin,
  admitTick,
  admittedFans,
  chargeBalance,
  createConcert,
  holdSeat,
  json,
  pay,
  queuedFans,
  sharedTestApp,
} from '../support/app.js'
import { pgliteTarget, postgresRedisTarget, storesOf } from '../support/stores.js'

describe.each(storesOf(pgliteTarget, postgresRedisTarget))('metrics on $name', (target) => {
  const t = sharedTestApp(target)

  it('when a sale runs, then /metrics shows requests per route, dependencies, the queue, holds and payments per concert', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    await queuedFans(t, concertId, 2)
    await chargeBalance(t, fan!.auth, 100_000)
    const held = json(await holdSeat(t, fan!.headers, scheduleId, 1))
    expect((await holdSeat(t, fan!.headers, scheduleId, 1)).statusCode).toBe(409)
    expect((await pay(t, fan!.headers, held.reservationId)).statusCode).toBe(201)

    expect((await t.app.inject({ url: '/metrics' })).statusCode).toBe(401)
    const res = await t.app.inject({ url: '/metrics', headers: admin })
    expect(res.statusCode).toBe(200)
    const text = res.body
    const has = (line: RegExp) => expect(text).toMatch(line)
    has(/^stagedoor_http_requests_total\{route="\/v1\/reservations",method="POST",status="201"\} 1$/m)
    has(/^stagedoor_http_requests_total\{route="\/v1\/reservations",method="POST",status="409"\} 1$/m)
    has(/^stagedoor_http_request_duration_seconds_bucket\{le="\+Inf",route="\/v1\/payments",method="POST"\} 1$/m)
    has(new RegExp(`^stagedoor_holds_total\\{concert="${concertId}",outcome="HELD"\\} 1$`, 'm'))
    has(new RegExp(`^stagedoor_holds_total\\{concert="${concertId}",outcome="SEAT_UNAVAILABLE"\\} 1$`, 'm'))
    has(new RegExp(`^stagedoor_payments_total\\{concert="${concertId}",outcome="PAID"\\} 1$`, 'm'))
    has(new RegExp(`^stagedoor_queue_waiting\\{concert="${concertId}"\\} 2$`, 'm'))
    has(new RegExp(`^stagedoor_queue_admitted_last_minute\\{concert="${concertId}"\\} 1$`, 'm'))
    has(/^stagedoor_dependency_duration_seconds_count\{dependency="database"\} [1-9]\d*$/m)
    if (target.name.includes('redis')) has(/^stagedoor_dependency_duration_seconds_count\{dependency="redis"\} [1-9]\d*$/m)
    has(/^stagedoor_cache_requests_total\{cache="layout",result="\w+"\} \d+$/m)
    has(/^stagedoor_nodejs_eventloop_lag_seconds \d/m)
  })

  it('when a line empties, then its queue gauges fall to zero and leave a minute later; a concert no one joined has none', async () => {
    const { concertId } = await createConcert(t)
    const { concertId: idle } = await createConcert(t)
    const gauge = async (concert: string) => {
      const text = (await t.app.inject({ url: '/metrics', headers: admin })).body
      return new RegExp(`^stagedoor_queue_waiting\\{concert="${concert}"\\} (\\d+)$`, 'm').exec(text)?.[1]
    }
    const [fan] = await queuedFans(t, concertId, 1)
    expect(await gauge(concertId)).toBe('1')
    expect(await gauge(idle)).toBeUndefined()
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/queue', headers: fan!.headers })).statusCode).toBe(204)
    await admitTick(t)
    expect(await gauge(concertId)).toBe('0')
    t.clock.advance(61_000)
    expect(await gauge(concertId)).toBeUndefined()
  })
})

describe('overload', () => {
  const t = sharedTestApp(pgliteTarget, { OVERLOAD_LAG_MS: '200' })
  const blockFor = (ms: number) => {
    const until = Date.now() + ms
    while (Date.now() < until) {}
  }
  const aTurn = () => new Promise((r) => setTimeout(r, 1))

  it('when the event loop lags, then new work gets 503 OVERLOADED with Retry-After and /health still answers', async () => {
    // Block this process's event loop, as a burst of work would. The lag is sampled every second
    // as the mean delay since the last sample: a first block longer than that makes the next
    // sample come right after it, so the sample after a second block holds that block's lag and
    // little else, whenever the test started.
    blockFor(1100)
    await aTurn()
    blockFor(1100)
    await aTurn()
    const refused = await t.app.inject({ url: '/v1/concerts' })
    expect(refused.statusCode).toBe(503)
    expect(json(refused)).toMatchObject({ code: 'OVERLOADED' })
    expect(refused.headers['retry-after']).toBe('2')
    expect((await t.app.inject({ url: '/health' })).statusCode).toBe(200)
  })
})
