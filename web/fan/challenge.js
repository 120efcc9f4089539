import { Problem, request } from '../shared/api.js'

/**
 * @import { Challenge, ChallengeParameters, Payload, Solution } from '/vendor/altcha/types.js'
 * @import { Concert } from '../shared/api.js'
 */

/**
 * What the worker (pow-worker.js) tells the page: keys tried so far, then the solution (null when
 * none was found) or why it failed.
 * @typedef {{ tried?: number, solution?: Solution | null, error?: string }} PowMessage
 */

/** Without a hint from the server, a solve is expected to take about this long (tuned for phones). */
const EXPECTED_MS = 2000

/**
 * How many keys a solve is expected to try: a short key prefix is met by chance once in 16^length
 * tries; a long one (a counter drawn by the server) says nothing, so progress then follows time.
 * @param {ChallengeParameters} parameters
 */
function expectedTries({ keyPrefix, data }) {
  const max = Number(data?.maxCounter ?? data?.maxNumber)
  if (max > 0) return max / 2
  return keyPrefix.length <= 8 ? 16 ** keyPrefix.length : undefined
}

/**
 * Solves an ALTCHA challenge in a Web Worker; `onProgress` gets a fraction from 0 to 1 as work is
 * done. Resolves with the base64 payload the join takes.
 * @public (the browser test solves a challenge through it)
 * @param {Challenge} challenge
 * @param {(fraction: number) => void} [onProgress]
 * @returns {Promise<string>}
 */
export function solveChallenge(challenge, onProgress = () => {}) {
  const worker = new Worker('/fan/pow-worker.js', { type: 'module' })
  const expected = expectedTries(challenge.parameters)
  const started = performance.now()
  return new Promise((resolve, reject) => {
    worker.onmessage = (/** @type {MessageEvent<PowMessage>} */ { data }) => {
      if (data.tried !== undefined) {
        const done = expected ? data.tried / expected : (performance.now() - started) / EXPECTED_MS
        onProgress(Math.min(0.99, 1 - Math.exp(-done)))
        return
      }
      worker.terminate()
      if (!data.solution) return reject(new Problem(403, { code: 'CHALLENGE_FAILED' }))
      onProgress(1)
      const { codeChallenge: _, ...plain } = challenge
      /** @type {Payload} */
      const payload = { challenge: plain, solution: data.solution }
      resolve(btoa(JSON.stringify(payload)))
    }
    worker.onerror = () => {
      worker.terminate()
      reject(new Problem(403, { code: 'CHALLENGE_FAILED' }))
    }
    worker.postMessage(challenge)
  })
}

const MAX_SOLVES = 3

/**
 * Joins a concert's line. When the concert asks for proof of work (known from the list, or told by
 * a 403 CHALLENGE_REQUIRED), fetches a challenge, solves it and joins with the solution; a
 * CHALLENGE_FAILED (expired, already used) is solved again.
 * @template T
 * @param {Concert} concert
 * @param {(body: { altcha: string } | undefined) => Promise<T>} join
 * @param {(fraction: number) => void} onProgress
 * @returns {Promise<T>}
 */
export async function joinLine(concert, join, onProgress) {
  const solve = async () => {
    onProgress(0)
    const challenge = /** @type {Challenge} */ (await request('GET', `/v1/concerts/${concert.concertId}/queue/challenge`))
    return solveChallenge(challenge, onProgress)
  }
  let altcha = concert.joinChallenge === 'pow' ? await solve() : undefined
  for (let solves = 1; ; solves++) {
    try {
      return await join(altcha === undefined ? undefined : { altcha })
    } catch (err) {
      const code = /** @type {Problem | undefined} */ (err)?.code
      const again = code === 'CHALLENGE_REQUIRED' || code === 'CHALLENGE_FAILED'
      if (!again || solves >= MAX_SOLVES) throw err
      altcha = await solve()
    }
  }
}
