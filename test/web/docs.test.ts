import { describe, expect, it } from 'vitest'
import { sharedTestApp } from '../support/app.js'
import { sharedBrowser } from '../support/browser.js'
import { pgliteTarget } from '../support/stores.js'

describe('the API docs in Chromium', () => {
  const t = sharedTestApp(pgliteTarget)
  const w = sharedBrowser(t)

  it.each(['/docs', '/docs/', '/docs?from=newsletter', '/docs/?x=1&y=2'])(
    'when %s is opened, then Swagger UI shows the operations of the document',
    async (path) => {
      const page = await w.browser.newPage()
      try {
        await page.goto(`${w.base}${path}`)
        await expect.poll(() => page.locator('.opblock').count()).toBeGreaterThan(10)
        await expect.poll(() => page.getByText('/v1/queue/status').first().isVisible()).toBe(true)
      } finally {
        await page.close()
      }
    },
  )
})
