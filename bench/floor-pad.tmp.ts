// The floor: what any Node service on Redis pays per request. Fastify routes that each run one
// auto-pipelined Lua script, with no auth and no validation: a POST shaped like a join (ZADD NX,
// ZRANK, INCR) and a GET shaped like a poll (ZSCORE, ZRANK). Same machine, same Node, same Redis.
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { Redis } from 'ioredis'

const [, , port, redisUrl] = process.argv
const redis = new Redis(redisUrl ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true })
const line = `bench:floor:{${randomBytes(4).toString('hex')}}`
redis.defineCommand('floorJoin', {
  numberOfKeys: 2,
  lua: `redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
        local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
        redis.call('INCR', KEYS[2])
        return rank`,
})
redis.defineCommand('floorPoll', {
  numberOfKeys: 1,
  lua: `local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
        return {score, redis.call('ZRANK', KEYS[1], ARGV[1])}`,
})
type Floor = Redis & {
  floorJoin(line: string, seq: string, member: string, score: number): Promise<number>
  floorPoll(line: string, member: string): Promise<unknown>
}
const floor = redis as Floor

let n = 0
const app = Fastify({ logger: false })
app.get('/health', async () => ({ status: 'ok' }))
app.post('/floor/join', async () => {
  n++
  return { position: (await floor.floorJoin(line, `${line}:seq`, `m${n}`, n)) + 1 }
})
app.get('/floor/poll', async () => ({ state: await floor.floorPoll(line, `m${1 + (n++ % 20_000)}`) }))
const pad = 'x'.repeat(Number(process.env.PAD ?? 0))
app.get('/floor/pollpad', async () => ({ state: await floor.floorPoll(line, `m${1 + (n++ % 20_000)}`), pad }))
app.addHook('onClose', async () => {
  await redis.del(line, `${line}:seq`)
  redis.disconnect()
})
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
await app.listen({ port: Number(port ?? 0), host: '127.0.0.1' })
