import { sql } from 'kysely'
import pg from 'pg'
import type { Db } from './database.js'

/** How long a lost listening connection waits before it is opened again. */
const RECONNECT_MS = 1000

export interface Listening {
  close(): Promise<void>
}

/** What a listener is told: each payload on its channel, and each time it listens (again). */
export interface Hearer {
  notified(payload: string): void
  connected(): void
}

/**
 * Listens on PostgreSQL channels, all on one connection of its own, and hears the payload of
 * every NOTIFY sent on each, from any process, the moment its transaction commits. A connection
 * that fails or is lost is opened again every RECONNECT_MS; each channel's `connected` is told
 * each time it is listening, so the caller catches up on what it may have missed in between.
 */
export function listen(databaseUrl: string, channels: Record<string, Hearer>, timeoutMs: number): Listening {
  let client: pg.Client | undefined
  let retry: NodeJS.Timeout | undefined
  let closed = false

  const again = (lost: pg.Client) => {
    if (closed || client !== lost) return
    client = undefined
    lost.end().catch(() => undefined)
    retry = setTimeout(open, RECONNECT_MS)
  }
  const open = async () => {
    if (closed) return
    const c = new pg.Client({
      connectionString: databaseUrl,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      keepAlive: true,
    })
    client = c
    c.on('error', () => again(c))
    c.on('end', () => again(c))
    c.on('notification', ({ channel, payload }) => {
      if (payload !== undefined) channels[channel]?.notified(payload)
    })
    try {
      await c.connect()
      for (const channel of Object.keys(channels)) await c.query(`listen ${pg.escapeIdentifier(channel)}`)
      if (client === c) for (const hear of Object.values(channels)) hear.connected()
    } catch {
      again(c)
    }
  }
  void open()
  return {
    async close() {
      closed = true
      clearTimeout(retry)
      // A stalled server never answers the goodbye: wait for it no longer than for a statement.
      const bounded = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref())
      await Promise.race([client?.end().catch(() => undefined), bounded])
    },
  }
}

/** Sends a payload on a channel, to every process listening there (at once: no transaction holds it). */
export async function notify(db: Db, channel: string, payload: string): Promise<void> {
  await sql`select pg_notify(${channel}, ${payload})`.execute(db)
}
