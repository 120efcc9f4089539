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
}

interface Link {
  client: net.Socket
  upstream: net.Socket
}

/** A TCP forwarder the test can cut or stall, to make a real dependency disappear or hang mid-run. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const links = new Set<Link>()
  let stalled = false

  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost)
    const link = { client, upstream }
    links.add(link)
    for (const [s, peer] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      s.on('error', () => {}) // 'close' follows and handles it
      // A reset on one side resets the other; a clean end is passed on by pipe().
      s.on('close', (hadError) => {
        if (peer.closed) links.delete(link)
        if (hadError) peer.destroy()
        else peer.end()
      })
    }
    // While stalled, a new connection is accepted but left unpiped: its bytes wait in the sockets.
    if (!stalled) flow(link)
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
      if (!stalled) return // piping twice would duplicate every byte
      stalled = false
      for (const link of links) flow(link)
    },
  }

  function destroyAll() {
    for (const { client, upstream } of links) {
      client.destroy()
      upstream.destroy()
    }
  }
}

function flow({ client, upstream }: Link) {
  if (client.destroyed || upstream.destroyed) return
  client.pipe(upstream)
  upstream.pipe(client)
}

/** Unpiping and pausing stops reading; unread bytes stay buffered until flow() pipes again. */
function hold({ client, upstream }: Link) {
  client.unpipe(upstream)
  upstream.unpipe(client)
  client.pause()
  upstream.pause()
}
