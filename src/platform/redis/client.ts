import { Cluster, Redis } from 'ioredis'

export type RedisClient = Redis | Cluster

/** Told of every script a client runs: how long it took and whether it failed. */
export type RedisObserver = (seconds: number, failed: boolean) => void
export const redisObservers = new WeakMap<RedisClient, RedisObserver>()

/**
 * A client for `redis://…` / `rediss://…`, or a cluster client for
 * `redis-cluster://host1:port1,host2:port2`. Commands fail fast while Redis is unreachable
 * (the client answers 503) instead of queueing without bound.
 */
export async function connectRedis(url: string, timeoutMs = 1000, observe?: RedisObserver): Promise<RedisClient> {
  // Auto-pipelining sends the commands of one event-loop turn in one write: under a crowd that
  // is many requests' scripts per system call.
  // Every command is bounded: a Redis that stops answering fails the call (503) instead of hanging it.
  const common = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: true,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1000),
  } as const
  let client: RedisClient
  if (url.startsWith('redis-cluster://')) {
    const nodes = url
      .slice('redis-cluster://'.length)
      .split(',')
      .map((hostPort) => {
        const [host, port] = hostPort.split(':')
        return { host: host!, port: Number(port ?? 6379) }
      })
    client = new Cluster(nodes, { lazyConnect: true, enableOfflineQueue: false, enableAutoPipelining: true, redisOptions: common })
  } else {
    client = new Redis(url, common)
  }
  // Connection errors surface on the commands that fail; the event itself must not crash the process.
  client.on('error', () => {})
  if (observe) redisObservers.set(client, observe)
  await client.connect()
  return client
}
