import type { RateLimitOptions } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'

/**
 * A route's limit of `max` requests a minute, counted per client address (the socket's, unless
 * TRUST_PROXY says whom to believe) or by `key`; none when `max` is 0. A route with a key counts
 * after its own onRequest hooks, which say who the user is.
 */
export function perMinute(max: number, key?: (request: FastifyRequest) => string): { config: { rateLimit: RateLimitOptions | false } } {
  if (max <= 0) return { config: { rateLimit: false } }
  return { config: { rateLimit: { max, timeWindow: 60_000, ...(key ? { keyGenerator: key, hook: 'preHandler' } : {}) } } }
}
