import { createChallenge, verifySolution } from 'altcha-lib'
import { deriveKey } from 'altcha-lib/algorithms/sha'
import { describe, expect, test } from 'vitest'
import { sharedTestApp } from '../support/app.js'
import { openBrowser, sharedBrowser } from '../support/browser.js'
import { pgliteTarget } from '../support/stores.js'

const SECRET = 'join-challenge-test-secret'

describe('the join challenge solver in Chromium', () => {
  const t = sharedTestApp(pgliteTarget)
  const w = sharedBrowser(t)

  test('when the page solves an ALTCHA challenge in its worker, then progress rises to the end and altcha-lib verifies the payload', async () => {
    // The server's side of the protocol: a signed challenge whose answer is a counter it drew.
    const challenge = await createChallenge({ algorithm: 'SHA-256', cost: 1, counter: 5000, deriveKey, hmacSignatureSecret: SECRET })
    const { page, context } = await openBrowser(t, w, 'challenge')
    await page.goto('/')

    // Given as text: the test runner would rewrite a dynamic import written in this file.
    const { payload, progress } = (await page.evaluate(`(async () => {
      const { solveChallenge } = await import('/fan/challenge.js')
      const progress = []
      const payload = await solveChallenge(${JSON.stringify(challenge)}, (p) => progress.push(p))
      return { payload, progress }
    })()`)) as { payload: string; progress: number[] }

    expect(progress.length).toBeGreaterThan(5)
    expect(progress.at(-1)).toBe(1)
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]!)
    const sent = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'))
    expect(sent.solution.counter).toBe(5000)
    const verdict = await verifySolution({ challenge: sent.challenge, solution: sent.solution, deriveKey, hmacSignatureSecret: SECRET })
    expect(verdict.verified).toBe(true)
    await context.close()
  })
})
