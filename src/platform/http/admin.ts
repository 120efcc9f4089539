import { timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'

/** onRequest hook: the `X-Admin-Key` header matches, else 401. */
export const adminHook = (adminKey: string) => {
  const expected = Buffer.from(adminKey)
  return async (request: FastifyRequest) => {
    const given = request.headers['x-admin-key']
    const actual = Buffer.from(typeof given === 'string' ? given : '')
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
      throw new AppError('UNAUTHENTICATED', 'a valid X-Admin-Key header is required')
    }
  }
}
