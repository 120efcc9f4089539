import { describe, expect, test } from 'vitest'
import { sharedTestApp } from '../support/app.js'
import { createShow, openBrowser, sharedBrowser } from '../support/browser.js'
import { pgliteTarget } from '../support/stores.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('the waiting page out of sight, in Chromium', () => {
  const t = sharedTestApp(pgliteTarget)
  const w = sharedBrowser(t)

  test('when the page is hidden, then it stops asking as often as pollAfterMs says, and asks at once when shown again', async () => {
    const { concertId } = await createShow(t, 'Background Tab')
    const { page, context } = await openBrowser(t, w, 'hidden-tab')
    let polls = 0
    page.on('request', (r) => {
      if (r.url().includes('/v1/queue/status')) polls++
    })
    await page.goto(`/#/concerts/${concertId}`)
    await page.getByRole('button', { name: 'Join the queue' }).click()
    // First in line, nobody admitted (no admission loop runs here): about one poll a second.
    await expect.poll(() => page.getByRole('status').textContent()).toContain('You are number 1 in line')
    let before = polls
    await sleep(3500)
    expect(polls - before).toBeGreaterThanOrEqual(2)

    // As the browser does when the tab goes to the background or comes back.
    const setHidden = (hidden: boolean) =>
      page.evaluate(`(() => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} })
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${hidden ? 'hidden' : 'visible'}' })
        document.dispatchEvent(new Event('visibilitychange'))
      })()`)
    await setHidden(true)
    // The poll already scheduled runs; the one after it waits pollBeforeMs (240 s by default).
    await sleep(1500)
    before = polls
    await sleep(3500)
    expect(polls - before).toBe(0)

    await setHidden(false)
    await expect.poll(() => polls - before, { timeout: 2000 }).toBeGreaterThanOrEqual(1)
    await context.close()
  })
})
