// Solves a join challenge off the main thread with altcha-lib's own solver, reporting how many
// keys it has tried so the page can show progress.
import { deriveKey as pbkdf2 } from '/vendor/altcha/algorithms/web/pbkdf2.js'
import { deriveKey as sha } from '/vendor/altcha/algorithms/web/sha.js'
import { solveChallenge } from '/vendor/altcha/pow.js'

const REPORT_EVERY = 100

self.onmessage = async ({ data: challenge }) => {
  const derive = challenge.parameters.algorithm.startsWith('PBKDF2/') ? pbkdf2 : sha
  let tried = 0
  const deriveKey = (...args) => {
    if (++tried % REPORT_EVERY === 0) self.postMessage({ tried })
    return derive(...args)
  }
  try {
    self.postMessage({ solution: await solveChallenge({ challenge, deriveKey }) })
  } catch (err) {
    self.postMessage({ error: String(err?.message ?? err) })
  }
}
