import { timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'

/** onRequest hook: the `X-Admin-Key` header matches, else 401. An empty key opens nothing, whatever it is compared with. */
export const adminHook = (adminKey: string) => {
  if (adminKey.length === 0) throw new Error('the admin routes need a non-empty admin key')
  const expected = Buffer.from(adminKey)
  return async (request: FastifyRequest) => {
    const given = request.headers['x-admin-key']
    const actual = Buffer.from(typeof given === 'string' ? given : '')
    if (actual.length === 0 || actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
      throw new AppError('UNAUTHENTICATED', 'a valid X-Admin-Key header is required')
    }
  }
}
