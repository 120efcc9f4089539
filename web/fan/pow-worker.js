// Solves a join challenge off the main thread with altcha-lib's own solver, reporting how many
// keys it has tried so the page can show progress.
import { deriveKey as pbkdf2 } from '/vendor/altcha/algorithms/web/pbkdf2.js'
import { deriveKey as sha } from '/vendor/altcha/algorithms/web/sha.js'
import { solveChallenge } from '/vendor/altcha/pow.js'

/**
 * @import { Challenge, DeriveKeyFunction } from '/vendor/altcha/types.js'
 * @import { PowMessage } from './challenge.js'
 */

/** @param {PowMessage} message */
const tell = (message) => self.postMessage(message)

const REPORT_EVERY = 100

self.onmessage = async (/** @type {MessageEvent<Challenge>} */ { data: challenge }) => {
  const derive = challenge.parameters.algorithm.startsWith('PBKDF2/') ? pbkdf2 : sha
  let tried = 0
  /** @type {DeriveKeyFunction} */
  const deriveKey = (...args) => {
    if (++tried % REPORT_EVERY === 0) tell({ tried })
    return derive(...args)
  }
  try {
    tell({ solution: await solveChallenge({ challenge, deriveKey }) })
  } catch (err) {
    tell({ error: String(/** @type {Error | undefined} */ (err)?.message ?? err) })
  }
}
