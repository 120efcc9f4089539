/**
 * A TCP proxy to PostgreSQL in a process of its own (test/support/tcp-proxy.ts), so the round
 * trips it slows keep their delay however busy the load generator's event loop is. Started by
 * bench/adaptive.ts with `fork`: it sends `{port}` once listening and takes `{delayMs}` messages.
 *
 *   node --import tsx bench/delay-proxy.ts <target host> <target port>
 */
import { startTcpProxy } from '../test/support/tcp-proxy.js'

const [host, port] = process.argv.slice(2)
const proxy = await startTcpProxy(Number(port), host)
process.on('message', (message: { delayMs: number }) => {
  proxy.delay(message.delayMs)
  process.send!({ delayMs: message.delayMs })
})
process.on('disconnect', () => void proxy.cut().then(() => process.exit(0)))
process.send!({ port: proxy.port })
