import { isIPv6 } from 'node:net'
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import { rateLimited } from '../errors.js'
import type { RedisClient } from '../redis/client.js'
import type { App } from './types.js'

/** Every limit's window: it starts at a key's first request and lasts a minute. */
export const RATE_WINDOW_MS = 60_000

/**
 * A route's limit of `max` requests a minute, counted per client address (the socket's, unless
 * TRUST_PROXY says whom to believe) or by `key`; none when `max` is 0. A route with a key counts
 * after its own onRequest hooks, which say who the user is.
 */
export function perMinute(max: number, key?: (request: FastifyRequest) => string): { config: { rateLimit: RateLimitOptions | false } } {
  if (max <= 0) return { config: { rateLimit: false } }
  return { config: { rateLimit: { max, timeWindow: RATE_WINDOW_MS, ...(key ? { keyGenerator: key, hook: 'preHandler' } : {}) } } }
}

/**
 * The address a limit per client counts a request under, as `@fastify/rate-limit` keys it: the
 * client's (`request.ip`: the socket's, unless TRUST_PROXY says whom to believe, so a forged
 * X-Forwarded-For changes nothing), an IPv4 address as it is, and an IPv6 one by its /64, which a
 * single client usually holds whole.
 */
export function clientAddress(request: FastifyRequest): string {
  const ip = request.ip.toLowerCase()
  if (!isIPv6(ip)) return ip
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip)
  return mapped ? mapped[1]! : `${hextets(ip).slice(0, 4).join(':')}::`
}

/** The eight groups of an IPv6 address, without leading zeros; a dotted IPv4 tail counts as two. */
function hextets(ip: string): string[] {
  const groups = (part: string) => (part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])))
  const [head = '', tail] = ip.split('%')[0]!.split('::')
  const front = groups(head)
  const back = tail === undefined ? [] : groups(tail)
  const all = [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back]
  return all.map((g) => Number.parseInt(g, 16).toString(16))
}

/**
 * Limits are per route (perMinute); they count in Redis when there is one, so they hold across
 * processes, and they let requests through if Redis does not answer. The queue join counts its
 * own, in the join itself (src/queue/store.ts `JoinLimit`).
 */
export async function installRateLimits(app: App, { redis, prefix = 'sd:' }: { redis: RedisClient | undefined; prefix?: string }) {
  await app.register(rateLimit, {
    global: false,
    ...(redis ? { redis, nameSpace: `${prefix}rate:` } : {}),
    skipOnError: true,
    // The limit is told when it refuses (429, Retry-After and the RateLimit headers), not on every answer.
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_request, context) => rateLimited(context.max, context.ttl),
  })
}
