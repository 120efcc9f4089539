import { describe, expect, test } from 'vitest'
import { admin, admittedFans, chargeBalance, holdSeat, json, pay, sharedTestApp } from '../support/app.js'
import { createShow, openBrowser, sharedBrowser } from '../support/browser.js'
import { pgliteTarget } from '../support/stores.js'

describe('the fan pages against a fair sale, in Chromium', () => {
  const t = sharedTestApp(pgliteTarget)
  const w = sharedBrowser(t)

  test('when a concert asks for proof of work, then the page solves the server challenge in its worker and the fan is in line', async () => {
    const { concertId } = await createShow(t, 'Proof of Work Night')
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/v1/admin/concerts/${concertId}`,
      headers: admin,
      payload: { joinChallenge: 'pow' },
    })
    expect(patched.statusCode).toBe(200)
    const { page, shot, context } = await openBrowser(t, w, 'pow-join')

    await page.goto(`/#/concerts/${concertId}`)
    await page.getByRole('button', { name: 'Join the queue' }).click()
    await expect.poll(() => page.getByRole('status').textContent(), { timeout: 30_000 }).toContain('You are number 1 in line')
    await shot('joined-after-challenge')
    const figures = json(await t.app.inject({ url: `/v1/admin/concerts/${concertId}/queue`, headers: admin }))
    expect(figures.waiting).toBe(1)
    await context.close()
  })

  test('when every seat is sold, then the list marks the concert and a fan in line is told in words and keeps the place', async () => {
    const { concertId, scheduleId } = await createShow(t, 'Tiny Room', [{ name: 'A', rows: 1, seatsPerRow: 1, price: 10_000 }])
    // Someone admitted before the fan buys the only seat while the fan waits.
    const [buyer] = await admittedFans(t, concertId, 1)
    const { page, shot, context } = await openBrowser(t, w, 'sold-out')
    await page.goto(`/#/concerts/${concertId}`)
    await page.getByRole('button', { name: 'Join the queue' }).click()
    await expect.poll(() => page.getByRole('status').textContent()).toContain('You are number 1 in line')

    await chargeBalance(t, buyer!.auth, 10_000)
    const held = json(await holdSeat(t, buyer!.headers, scheduleId, 1))
    expect((await pay(t, buyer!.headers, held.reservationId)).statusCode).toBe(201)
    t.clock.advance(1000)

    await page.reload()
    await expect
      .poll(() => page.getByText('Sold out right now. You keep your place: if seats come back, the line moves again.').isVisible(), {
        timeout: 15_000,
      })
      .toBe(true)
    await shot('sold-out-in-line')
    await page.goto('/')
    await expect.poll(() => page.getByRole('listitem').filter({ hasText: 'Tiny Room' }).textContent()).toContain('Sold out')
    await shot('sold-out-list')
    await context.close()
  })
})
