import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'

/** What the receiver does with a request: answer this status (with this body), or never answer. */
export type Answer = { status: number; body?: string; headers?: Record<string, string> } | 'hang'

export interface Received {
  id: string
  envelope: { id: string; type: string; sequence: number; timestamp: string; data: unknown }
  /** Whether the receiver answered it 2xx. */
  accepted: boolean
}

/**
 * A real webhook receiver on a loopback port: it verifies every request's signature with the
 * `standardwebhooks` package, as an operator's receiver would, and answers as the test says.
 * It can be stopped (connections refused) and started again on the same port.
 */
export class WebhookReceiver {
  readonly received: Received[] = []
  /** Requests whose signature did not verify (none, unless signing is broken). */
  readonly forged: string[] = []
  secret = ''
  answer: (n: number, envelope: Received['envelope']) => Answer = () => ({ status: 204 })
  #server: Server | undefined
  #port = 0
  readonly #hanging = new Set<ServerResponse>()
  #waiters: (() => void)[] = []

  static async start(): Promise<WebhookReceiver> {
    const r = new WebhookReceiver()
    await r.listen()
    return r
  }

  get port() {
    return this.#port
  }

  url(path = '/hook') {
    return `http://127.0.0.1:${this.#port}${path}`
  }

  /** The ids it answered 2xx, in arrival order. */
  get accepted(): string[] {
    return this.received.filter((r) => r.accepted).map((r) => r.id)
  }

  /** Requests left hanging so far. */
  get hanging(): number {
    return this.#hanging.size
  }

  /** Resolves once `test` holds (checked after every request). */
  until(test: (r: WebhookReceiver) => boolean): Promise<void> {
    if (test(this)) return Promise.resolve()
    return new Promise((resolve) => {
      const check = () => {
        if (test(this)) resolve()
        else this.#waiters.push(check)
      }
      this.#waiters.push(check)
    })
  }

  async listen(): Promise<void> {
    const server = createServer((request, response) => void this.handle(request, response))
    server.listen(this.#port, '127.0.0.1')
    await once(server, 'listening')
    this.#port = (server.address() as AddressInfo).port
    this.#server = server
  }

  /** Stops listening and cuts every connection: attempts are refused until `listen` again. */
  async stop(): Promise<void> {
    for (const response of this.#hanging) response.socket?.destroy()
    this.#hanging.clear()
    const server = this.#server
    this.#server = undefined
    if (!server) return
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }

  private async handle(request: IncomingMessage, response: ServerResponse) {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    let envelope: Received['envelope']
    try {
      envelope = new Webhook(this.secret).verify(body, request.headers as Record<string, string>) as Received['envelope']
    } catch {
      this.forged.push(body)
      response.writeHead(400).end()
      return this.notify()
    }
    const answer = this.answer(this.received.length + 1, envelope)
    const received = { id: String(request.headers['webhook-id']), envelope, accepted: false }
    this.received.push(received)
    if (answer === 'hang') {
      this.#hanging.add(response)
      response.on('close', () => this.#hanging.delete(response))
    } else {
      received.accepted = answer.status >= 200 && answer.status < 300
      response.writeHead(answer.status, answer.headers).end(answer.body ?? '')
    }
    this.notify()
  }

  private notify() {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }
}
