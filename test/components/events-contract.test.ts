import SwaggerParser from '@apidevtools/swagger-parser'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { describe, expect, it } from 'vitest'
import { retryDelayMs } from '../../src/events/relay.js'
import { admin, admittedFans, createConcert, holdSeat, json, pay, sharedTestApp } from '../support/app.js'
import { pgliteTarget } from '../support/stores.js'
import { WebhookReceiver } from '../support/webhook-receiver.js'

/**
 * The published schema with every object in `data` closed (no property it does not name), so an
 * event that carries more than its contract says fails, and the contract cannot drift behind it.
 */
function strictData(envelope: any): any {
  const close = (schema: any): any => {
    if (Array.isArray(schema)) return schema.map(close)
    if (schema === null || typeof schema !== 'object') return schema
    const closed = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, close(v)]))
    if (schema.type === 'object' && schema.properties && !('additionalProperties' in schema)) closed.additionalProperties = false
    return closed
  }
  return { ...envelope, properties: { ...envelope.properties, data: close(envelope.properties.data) } }
}

describe('the events contract', () => {
  const t = sharedTestApp(pgliteTarget, { HOLD_TTL_S: '60' })

  it('when /openapi.json is read, then `webhooks` has every event type with its envelope, and every event of a sale matches its schema', async () => {
    const doc = json(await t.app.inject('/openapi.json'))
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeTruthy()
    expect(Object.keys(doc.webhooks).sort()).toEqual(
      [
        'balance.charged',
        'concert.created',
        'concert.updated',
        'payment.refunded',
        'payment.succeeded',
        'queue.settings_changed',
        'reservation.expired',
        'reservation.held',
        'reservation.released',
        'schedule.cancelled',
        'schedule.created',
      ].sort(),
    )
    const ajv = new Ajv2020({ strict: false })
    addFormats.default(ajv)
    const validators = Object.fromEntries(
      Object.entries(doc.webhooks as Record<string, any>).map(([type, item]) => [
        type,
        ajv.compile(strictData(item.post.requestBody.content['application/json'].schema)),
      ]),
    )
    for (const item of Object.values(doc.webhooks as Record<string, any>)) {
      expect(item.post.parameters.map((p: any) => p.name)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature'])
    }

    const { concertId, scheduleId } = await createConcert(t)
    await t.app.inject({ method: 'PATCH', url: `/v1/admin/concerts/${concertId}`, headers: admin, payload: { venue: 'Hall B' } })
    await t.app.inject({ method: 'PATCH', url: `/v1/admin/concerts/${concertId}/queue`, headers: admin, payload: { admitPerTick: 5 } })
    const [fan] = await admittedFans(t, concertId, 1)
    await t.app.inject({
      method: 'POST',
      url: `/v1/admin/users/${fan!.userId}/balance/charges`,
      headers: { ...admin, 'idempotency-key': 'p-1' },
      payload: { amount: 100_000 },
    })
    const first = json(await holdSeat(t, fan!.headers, scheduleId, 1))
    await t.app.inject({ method: 'DELETE', url: `/v1/reservations/${first.reservationId}`, headers: fan!.auth })
    await holdSeat(t, fan!.headers, scheduleId, 2)
    t.clock.advanceSeconds(61)
    await t.app.components.reservations.sweep()
    const held = json(await holdSeat(t, fan!.headers, scheduleId, 3))
    expect((await pay(t, fan!.headers, held.reservationId)).statusCode).toBe(201)

    await t.app.components.events.relay.runOnce()
    const events = json(await t.app.inject({ url: '/v1/admin/events?limit=1000', headers: admin })).items
    expect(new Set(events.map((e: any) => e.type)).size).toBe(9)
    for (const event of events) {
      const valid = validators[event.type]!
      expect(valid(event), `${event.type}: ${JSON.stringify(valid.errors)}`).toBe(true)
    }
    // The schemas can fail: an event with another type's data does not match, nor one whose data
    // has a field its schema does not name, at any depth.
    expect(validators['payment.succeeded']!({ ...events[0], type: 'payment.succeeded' })).toBe(false)
    const payment = events.find((e: any) => e.type === 'payment.succeeded')
    expect(validators['payment.succeeded']!({ ...payment, data: { ...payment.data, extra: 1 } })).toBe(false)
    const settings = events.find((e: any) => e.type === 'queue.settings_changed')
    expect(settings.data.adaptive).toBeDefined()
    const nested = { ...settings, data: { ...settings.data, adaptive: { ...settings.data.adaptive, extra: 1 } } }
    expect(validators['queue.settings_changed']!(nested)).toBe(false)
  })

  it('when /metrics is scraped, then it has the outbox lag, deliveries by outcome and the relay batch time', async () => {
    const r = await WebhookReceiver.start()
    try {
      r.answer = (n) => (n === 1 ? { status: 500 } : { status: 200 })
      const created = json(
        await t.app.inject({
          method: 'POST',
          url: '/v1/admin/webhooks',
          headers: admin,
          payload: { url: r.url(), events: ['concert.created'] },
        }),
      )
      r.secret = created.secret
      await t.app.components.events.relay.runOnce()
      await t.app.components.events.relay.settled()
      await createConcert(t)
      t.clock.advance(30_000)
      const scrape = async () => (await t.app.inject({ url: '/metrics', headers: admin })).body
      // Not numbered yet: 30 s old.
      expect(await scrape()).toMatch(/^stagedoor_outbox_lag_seconds 30$/m)
      await t.app.components.events.relay.runOnce()
      await t.app.components.events.relay.settled()
      const failing = await scrape()
      expect(failing).toMatch(/^stagedoor_webhook_deliveries_total\{outcome="retrying"\} 1$/m)
      expect(failing).toMatch(/^stagedoor_outbox_lag_seconds 30$/m)
      expect(failing).toMatch(/^stagedoor_relay_batch_duration_seconds_count [1-9]\d*$/m)
      t.clock.advance(10_000)
      await t.app.components.events.relay.runOnce()
      await t.app.components.events.relay.settled()
      const delivered = await scrape()
      expect(delivered).toMatch(/^stagedoor_webhook_deliveries_total\{outcome="delivered"\} 1$/m)
      expect(delivered).toMatch(/^stagedoor_outbox_lag_seconds 0$/m)
    } finally {
      await r.stop()
    }
  })
})

describe('retry delays', () => {
  it('when attempts fail one after another, then each delay doubles from the base up to the maximum, drawn between half and all of it', () => {
    const base = 5000
    const max = 6 * 3600 * 1000
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, base, max, () => 1))).toEqual([5000, 10_000, 20_000, 40_000])
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, base, max, () => 0))).toEqual([2500, 5000, 10_000, 20_000])
    expect(retryDelayMs(30, base, max, () => 1)).toBe(max)
    expect(retryDelayMs(1000, base, max, () => 0.5)).toBe(max * 0.75)
  })
})
