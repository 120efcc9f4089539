import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { http, testSecrets } from '../support/app.js'
import { startServer } from '../support/process.js'

describe('shutdown on SIGTERM', () => {
  it('when SIGTERM arrives, then /ready turns 503 at once, serving goes on for the delay, a request in flight finishes, and the process exits 0', async () => {
    const server = await startServer({ DATA_DIR: 'memory://', ...testSecrets, SHUTDOWN_DELAY_MS: '1500', SHUTDOWN_GRACE_MS: '5000' })
    expect((await http(server.url, 'GET', '/ready')).status).toBe(200)

    // A request whose body has not finished arriving when the shutdown begins.
    const { port } = new URL(server.url)
    const slow = new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () =>
        socket.write('POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{'),
      )
      let text = ''
      socket.on('data', (d) => {
        text += d
        if (text.includes('\r\n\r\n')) socket.end()
      })
      socket.on('close', () => resolve(text))
      socket.on('error', reject)
      setTimeout(() => socket.write('}'), 2500)
    })

    const signalledAt = Date.now()
    server.child.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 100))
    const ready = await http(server.url, 'GET', '/ready')
    expect(ready).toMatchObject({ status: 503, body: { code: 'SHUTTING_DOWN' } })
    expect((await http(server.url, 'GET', '/v1/concerts')).status).toBe(200)

    expect(await slow).toMatch(/^HTTP\/1\.1 201 /)
    expect(await server.exited).toBe(0)
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(1500)
  })
})
