import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import type { RedisClient } from '../redis/client.js'
import type { App } from './types.js'

/**
 * A route's limit of `max` requests a minute, counted per client address (the socket's, unless
 * TRUST_PROXY says whom to believe) or by `key`; none when `max` is 0. A route with a key counts
 * after its own onRequest hooks, which say who the user is.
 */
export function perMinute(max: number, key?: (request: FastifyRequest) => string): { config: { rateLimit: RateLimitOptions | false } } {
  if (max <= 0) return { config: { rateLimit: false } }
  return { config: { rateLimit: { max, timeWindow: 60_000, ...(key ? { keyGenerator: key, hook: 'preHandler' } : {}) } } }
}

/**
 * Limits are per route (perMinute); they count in Redis when there is one, so they hold across
 * processes, and they let requests through if Redis does not answer.
 */
export async function installRateLimits(app: App, { redis, prefix = 'sd:' }: { redis: RedisClient | undefined; prefix?: string }) {
  await app.register(rateLimit, {
    global: false,
    ...(redis ? { redis, nameSpace: `${prefix}rate:` } : {}),
    skipOnError: true,
    // The limit is told when it refuses (429, Retry-After and the RateLimit headers), not on every answer.
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', `too many requests; retry in ${context.after}`, { retryAfterSeconds: Math.ceil(context.ttl / 1000) }),
  })
}
