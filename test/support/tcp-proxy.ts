import net from 'node:net'

export interface TcpProxy {
  port: number
  /** Refuses new connections and drops the open ones. */
  cut(): Promise<void>
  /** Drops the open connections but keeps accepting new ones, like a network blip. */
  cutConnections(): Promise<void>
  /** Keeps connections open but forwards no bytes either way, so the dependency seems to hang. */
  stall(): void
  /** Forwards again, delivering what was held back during the stall. */
  resume(): void
  /**
   * Adds `ms` to every round trip from now on, on open and new connections alike: each answer from
   * the dependency is handed on that much later, in order. 0 takes the latency away.
   */
  delay(ms: number): void
}

interface Link {
  client: net.Socket
  upstream: net.Socket
}

/**
 * A TCP forwarder the test can cut, stall or slow, to make a real dependency disappear, hang or
 * answer late mid-run.
 */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const links = new Set<Link>()
  let stalled = false
  let latencyMs = 0

  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost)
    const link = { client, upstream }
    links.add(link)
    const answers = delayedWriter(client, () => latencyMs)
    for (const [s, peer] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      s.on('error', () => {}) // 'close' follows and handles it
      // A reset on one side resets the other; a clean end is passed on once what is delayed is out.
      s.on('close', (hadError) => {
        if (peer.closed) links.delete(link)
        if (hadError) peer.destroy()
        else if (!peer.writableEnded) s === upstream ? answers.whenEmpty(() => peer.end()) : peer.end()
      })
    }
    client.on('data', (chunk) => upstream.write(chunk))
    upstream.on('data', (chunk) => answers.write(chunk))
    // While stalled, a new connection is accepted but not read: its bytes wait in the sockets.
    if (stalled) hold(link)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port

  return {
    port,
    async cut() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        destroyAll()
      })
    },
    async cutConnections() {
      const open = [...links].flatMap((l) => [l.client, l.upstream]).filter((s) => !s.closed)
      const closed = open.map((s) => new Promise((r) => s.once('close', r)))
      destroyAll()
      await Promise.all(closed)
    },
    stall() {
      stalled = true
      for (const link of links) hold(link)
    },
    resume() {
      stalled = false
      for (const { client, upstream } of links) {
        client.resume()
        upstream.resume()
      }
    },
    delay(ms: number) {
      latencyMs = ms
    },
  }

  function destroyAll() {
    for (const { client, upstream } of links) {
      client.destroy()
      upstream.destroy()
    }
  }
}

/** Paused sockets are not read; unread bytes stay buffered until they resume. */
function hold({ client, upstream }: Link) {
  client.pause()
  upstream.pause()
}

/**
 * Writes chunks to `to`, each `latency()` ms after it came, in the order they came (a chunk never
 * overtakes an earlier one, even when the latency falls meanwhile).
 */
function delayedWriter(to: net.Socket, latency: () => number) {
  const queue: { at: number; chunk: Buffer }[] = []
  let scheduled = false
  let onEmpty: (() => void) | undefined
  const flush = () => {
    scheduled = false
    const now = Date.now()
    while (queue.length > 0 && queue[0]!.at <= now) {
      const { chunk } = queue.shift()!
      if (!to.destroyed) to.write(chunk)
    }
    if (queue.length > 0) schedule(queue[0]!.at - now)
    else if (onEmpty) onEmpty()
  }
  const schedule = (ms: number) => {
    scheduled = true
    setTimeout(flush, ms)
  }
  return {
    write(chunk: Buffer) {
      const ms = latency()
      if (ms <= 0 && queue.length === 0) {
        to.write(chunk)
        return
      }
      const last = queue.at(-1)?.at ?? 0
      queue.push({ at: Math.max(last, Date.now() + ms), chunk })
      if (!scheduled) schedule(queue[0]!.at - Date.now())
    },
    /** Runs `then` once every chunk is written: at once when none waits. */
    whenEmpty(then: () => void) {
      if (queue.length === 0) then()
      else onEmpty = then
    },
  }
}
