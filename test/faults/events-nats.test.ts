import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import type { Envelope } from '../../src/events/outbox.js'
import { admin, admittedFans, createConcert, holdSeat, json, pay, startTestApp, type TestApp } from '../support/app.js'
import { startNatsServer } from '../support/nats-server.js'
import { databaseTargets } from '../support/stores.js'

/** Every message of the STAGEDOOR stream: its subject, Nats-Msg-Id and event. */
async function streamMessages(url: string): Promise<{ subject: string; msgId: string | undefined; event: Envelope }[]> {
  const nc = await connect({ servers: url })
  try {
    const jsm = await jetstreamManager(nc)
    const { state } = await jsm.streams.info('STAGEDOOR')
    const messages = []
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage('STAGEDOOR', { seq })
      messages.push({ subject: m!.subject, msgId: m!.header?.get('Nats-Msg-Id'), event: m!.json<Envelope>() })
    }
    return messages
  } finally {
    await nc.close()
  }
}

async function relayRound(t: TestApp) {
  await t.app.components.events.relay.runOnce()
  await t.app.components.events.relay.settled()
}

describe.each(databaseTargets)('NATS JetStream on $name', (target) => {
  let t: TestApp | undefined
  afterEach(async () => {
    await t?.app.close()
    t = undefined
  })

  it('when NATS stops and comes back during a sale, then every event is in the stream afterwards, once, with its id as Nats-Msg-Id', async () => {
    const nats = await startNatsServer()
    t = await startTestApp(target, { NATS_URL: nats.url })
    // The stream exists from the start.
    expect(await streamMessages(nats.url)).toEqual([])

    const { concertId, scheduleId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    await t.app.inject({
      method: 'POST',
      url: `/v1/admin/users/${fan!.userId}/balance/charges`,
      headers: { ...admin, 'idempotency-key': 'p-1' },
      payload: { amount: 100_000 },
    })
    await relayRound(t)
    expect(await streamMessages(nats.url)).toHaveLength(3)

    await nats.kill()
    const held = json(await holdSeat(t, fan!.headers, scheduleId, 1))
    expect((await pay(t, fan!.headers, held.reservationId)).statusCode).toBe(201)
    await relayRound(t)
    await nats.restart()
    // A claim given back is published by a later batch (the relay waits for acknowledgements, so
    // it may take a few batches while the client reconnects).
    const feed = async () => json(await t!.app.inject({ url: '/v1/admin/events?limit=1000', headers: admin })).items as Envelope[]
    for (let i = 0; i < 50 && (await streamMessages(nats.url)).length < 5; i++) await relayRound(t)
    const events = await feed()
    expect(events).toHaveLength(5)
    const messages = await streamMessages(nats.url)
    expect(messages.map((m) => m.event)).toEqual(events)
    expect(messages.map((m) => m.msgId)).toEqual(events.map((e) => e.id))
    expect(messages.map((m) => m.subject)).toEqual(events.map((e) => `stagedoor.${e.type}`))

    // Acknowledgements lost (a relay died after publishing): every event is published again, and
    // JetStream drops each by its Nats-Msg-Id.
    await sql`insert into event_publications (event_id, sequence) select id, sequence from events`.execute(t.app.components.database.db)
    await relayRound(t)
    expect(await streamMessages(nats.url)).toEqual(messages)
    await nats.stop()
  }, 60_000)
})
