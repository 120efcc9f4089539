// The ceiling: a bare Fastify route on the same machine, same Node, same flags.
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/health', async () => ({ status: 'ok' }))
await app.listen({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1' })
