import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import type { Envelope } from './outbox.js'

/** The stream every event is published to, as `stagedoor.<type>`. */
const STREAM = 'STAGEDOOR'
const SUBJECTS = 'stagedoor.>'
/** Longest wait for JetStream to acknowledge one message (or to answer at start). */
const ACK_TIMEOUT_MS = 2000

/**
 * NATS JetStream for systems that consume streams: each event published once per relay claim,
 * with its id as `Nats-Msg-Id`, so JetStream drops a re-publish within its duplicate window.
 */
export class NatsPublisher {
  private constructor(
    private readonly connection: NatsConnection,
    private readonly js: JetStreamClient,
  ) {}

  /** Connects (reconnecting for ever after) and creates the stream if it is missing. */
  static async connect(url: string): Promise<NatsPublisher> {
    const connection = await connect({ servers: url, name: 'stagedoor', maxReconnectAttempts: -1, timeout: ACK_TIMEOUT_MS })
    try {
      const manager = await jetstreamManager(connection, { timeout: ACK_TIMEOUT_MS })
      const exists = await manager.streams.info(STREAM).then(
        () => true,
        () => false,
      )
      if (!exists) await manager.streams.add({ name: STREAM, subjects: [SUBJECTS] })
      return new NatsPublisher(connection, jetstream(connection, { timeout: ACK_TIMEOUT_MS }))
    } catch (err) {
      await connection.close()
      throw err
    }
  }

  /** Publishes one event and waits for JetStream's acknowledgement; throws if there is none. */
  async publish(event: Envelope): Promise<void> {
    await this.js.publish(`stagedoor.${event.type}`, JSON.stringify(event), { msgID: event.id, timeout: ACK_TIMEOUT_MS })
  }

  async close(): Promise<void> {
    await this.connection.close()
  }
}
