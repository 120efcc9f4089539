import { Problem, request } from '../shared/api.js'

/**
 * @import { RequestOptions } from '../shared/api.js'
 * @import { QueueStatus } from './line.js'
 */

/**
 * A place in a concert's line: its token, the place first seen (null in the pre-queue) and, just
 * after joining, the join's answer. Only the token and the first place are kept.
 * @typedef {{ token: string, first: number | null, status?: QueueStatus }} Place
 */

/**
 * Who the fan is. A deployment with its own sign-in puts the access token its login issued under
 * this key before sending the fan here; without one, the page signs up a demo user and keeps that
 * token under the same key (docs/identity.md).
 */
export const ACCESS_TOKEN_KEY = 'stagedoor.accessToken'
/** Set when the token under ACCESS_TOKEN_KEY is a demo user's, which the page may replace. */
const DEMO_KEY = 'stagedoor.demoUser'
const queueKey = (/** @type {string} */ concertId) => `stagedoor.queue.${concertId}`

/** @type {Promise<string> | undefined} */
let signingUp

/**
 * The access token, signing up a demo user the first time one is needed.
 * @returns {Promise<string>}
 */
async function accessToken() {
  const kept = localStorage.getItem(ACCESS_TOKEN_KEY)
  if (kept) return kept
  signingUp ??= /** @type {Promise<{ userId: string, accessToken: string }>} */ (request('POST', '/v1/users'))
    .then(({ accessToken }) => {
      localStorage.setItem(ACCESS_TOKEN_KEY, accessToken)
      localStorage.setItem(DEMO_KEY, '1')
      return accessToken
    })
    .finally(() => {
      signingUp = undefined
    })
  return signingUp
}

/**
 * A request as the fan. A demo token the server no longer accepts (a reset database) is replaced
 * by a new demo user once; a token from the deployment's sign-in is dropped, and the refusal shown.
 * @param {string} method
 * @param {string} path
 * @param {RequestOptions & { queueToken?: string }} [options] with the place in line to show, where the route asks for it
 * @returns {Promise<unknown>}
 */
export async function asFan(method, path, { queueToken, ...options } = {}) {
  for (let attempt = 0; ; attempt++) {
    const token = await accessToken()
    const headers = { authorization: `Bearer ${token}`, ...(queueToken ? { 'queue-token': queueToken } : {}) }
    try {
      return await request(method, path, { ...options, headers: { ...options.headers, ...headers } })
    } catch (err) {
      if (!(err instanceof Problem) || err.code !== 'UNAUTHENTICATED') throw err
      const demo = localStorage.getItem(DEMO_KEY) === '1'
      localStorage.removeItem(ACCESS_TOKEN_KEY)
      localStorage.removeItem(DEMO_KEY)
      if (!demo || attempt > 0) throw err
    }
  }
}

/**
 * The fan's place in a concert's line, kept across reloads: the token and the place first seen.
 * @param {string} concertId
 * @returns {Place | null}
 */
export function keptPlace(concertId) {
  try {
    return JSON.parse(localStorage.getItem(queueKey(concertId)) ?? 'null')
  } catch {
    return null
  }
}

/**
 * @param {string} concertId
 * @param {Place | null} place
 */
export function keepPlace(concertId, place) {
  if (place) localStorage.setItem(queueKey(concertId), JSON.stringify(place))
  else localStorage.removeItem(queueKey(concertId))
}
