import { describe, expect, test } from 'vitest'
import { admin, admitTick, json, queuedFans, sharedTestApp } from '../support/app.js'
import { createShow, openBrowser, pageAccessToken, sharedBrowser, stored } from '../support/browser.js'
import { pgliteTarget } from '../support/stores.js'

describe('fan pages in Chromium', () => {
  // Holds end before an idle admission does, so a hold can run out while the fan is still admitted.
  const t = sharedTestApp(pgliteTarget, { HOLD_TTL_S: '120' })
  const w = sharedBrowser(t)

  test('when a fan goes from the concert list to paying, then the seat is Confirmed on the page and in the API', async () => {
    const { concertId } = await createShow(t, 'Midnight Echoes')
    const { page, shot, context } = await openBrowser(t, w, 'fan-flow')

    await page.goto('/')
    await page.getByRole('link', { name: 'Midnight Echoes' }).click()
    await shot('concert')
    await page.getByRole('button', { name: 'Join the queue' }).click()
    await expect.poll(() => page.getByRole('status').textContent()).toContain('You are number 1 in line')
    await expect.poll(() => page.getByText('Keep this page open — reloading keeps your place.').isVisible()).toBe(true)
    await shot('waiting')

    await admitTick(t)
    const dates = page.getByRole('region', { name: 'Dates' })
    await dates.waitFor()
    await dates.getByRole('button').first().click()
    await page.getByRole('button', { name: 'Seat 7', exact: true }).click()
    await shot('seat-chosen')
    await page.getByRole('button', { name: 'Hold seat' }).click()
    await expect.poll(() => page.getByRole('timer').textContent()).toMatch(/^(2:00|1:5\d)$/)

    // Paying with an empty balance is refused in words, and nothing is paid.
    await page.getByRole('button', { name: 'Pay' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Your balance does not cover this seat. Top up first.')
    await shot('refused-balance')

    await page.getByLabel('Amount').fill('100000')
    await page.getByRole('button', { name: 'Top up' }).click()
    await page.getByText('Balance: ₩100,000').waitFor()
    await page.getByRole('button', { name: 'Pay' }).click()
    await page.getByText('Confirmed').waitFor()
    await shot('paid')

    const mine = json(
      await t.app.inject({ url: '/v1/me/reservations', headers: { authorization: `Bearer ${await pageAccessToken(page)}` } }),
    )
    expect(mine.items.map((r: any) => [r.concertId, r.seatNo, r.status])).toEqual([[concertId, 7, 'CONFIRMED']])

    await page.getByRole('link', { name: 'My tickets' }).click()
    await page.getByRole('heading', { name: 'My tickets' }).waitFor()
    await expect.poll(() => page.getByRole('listitem').textContent()).toContain('Midnight Echoes — seat 7')
    await expect.poll(() => page.getByRole('listitem').textContent()).toContain('Confirmed')
    await shot('my-tickets')
    await context.close()
  })

  test('when the fans ahead leave the line, then the waiting view counts down and its progress bar fills', async () => {
    const { concertId } = await createShow(t, 'Counting Down')
    const ahead = await queuedFans(t, concertId, 4)
    const { page, shot, context } = await openBrowser(t, w, 'waiting')

    await page.goto(`/#/concerts/${concertId}`)
    await page.getByRole('button', { name: 'Join the queue' }).click()
    const place = page.getByRole('status')
    await expect.poll(() => place.textContent()).toContain('You are number 5 in line')
    await expect.poll(() => page.getByRole('progressbar', { name: 'Progress in line' }).getAttribute('value')).toBe('0')
    await shot('fifth')

    for (const fan of ahead.slice(0, 3)) {
      const left = await t.app.inject({ method: 'DELETE', url: '/v1/queue', headers: { 'queue-token': fan.queueToken } })
      expect(left.statusCode).toBe(204)
    }
    // The page asks again as each answer's pollAfterMs says (a second this near the front).
    await expect.poll(() => place.textContent()).toContain('You are number 2 in line')
    await expect.poll(() => page.getByRole('progressbar', { name: 'Progress in line' }).getAttribute('value')).toBe('3')
    await shot('second')

    await t.app.inject({ method: 'DELETE', url: '/v1/queue', headers: { 'queue-token': ahead[3]!.queueToken } })
    await expect.poll(() => place.textContent()).toContain('You are number 1 in line')
    await shot('first')
    await context.close()
  })

  test('when a fan reloads the page in line, then the place and its token are kept and no second entry is made', async () => {
    const { concertId } = await createShow(t, 'Reload Safe')
    await queuedFans(t, concertId, 2)
    const { page, shot, context } = await openBrowser(t, w, 'reload')

    await page.goto(`/#/concerts/${concertId}`)
    await page.getByRole('button', { name: 'Join the queue' }).click()
    await expect.poll(() => page.getByRole('status').textContent()).toContain('You are number 3 in line')
    const token = await stored(page, 'localStorage', `stagedoor.queue.${concertId}`)

    await page.reload()
    await expect.poll(() => page.getByRole('status').textContent()).toContain('You are number 3 in line')
    await shot('after-reload')
    expect(await page.getByRole('button', { name: 'Join the queue' }).count()).toBe(0)
    expect(await stored(page, 'localStorage', `stagedoor.queue.${concertId}`)).toBe(token)
    const figures = json(await t.app.inject({ url: `/v1/admin/concerts/${concertId}/queue`, headers: admin }))
    expect(figures.waiting).toBe(3)
    await context.close()
  })

  test('when a hold runs out, then the countdown has counted down and paying it is refused in words', async () => {
    const { concertId } = await createShow(t, 'Too Slow')
    const { page, shot, context } = await openBrowser(t, w, 'hold-expired')

    await page.goto(`/#/concerts/${concertId}`)
    await page.getByRole('button', { name: 'Join the queue' }).click()
    await page.getByRole('status').filter({ hasText: 'number 1' }).waitFor()
    await admitTick(t)
    await page.getByRole('region', { name: 'Dates' }).getByRole('button').first().click()
    await page.getByRole('button', { name: 'Seat 1', exact: true }).click()
    await page.getByRole('button', { name: 'Hold seat' }).click()
    await page.getByLabel('Amount').fill('100000')
    await page.getByRole('button', { name: 'Top up' }).click()
    await page.getByText('Balance: ₩100,000').waitFor()

    // A minute passes on the page's clock: the countdown follows it.
    await context.clock.fastForward(60_000)
    await expect.poll(() => page.getByRole('timer').textContent()).toMatch(/^(1:0\d|0:5\d)$/)
    // The hold's deadline passes on the server's clock before the fan pays.
    t.clock.advanceSeconds(t.config.holdTtlS + 1)
    await page.getByRole('button', { name: 'Pay' }).click()
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('Your hold ran out and the seat went back on sale. Pick a seat again.')
    await page.getByText('Expired').waitFor()
    await shot('expired')
    await context.close()
  })
})

describe('fan pages where fans do not top up themselves (CHARGES=off)', () => {
  const t = sharedTestApp(pgliteTarget, { HOLD_TTL_S: '120', CHARGES: 'off' })
  const w = sharedBrowser(t)

  test('when a fan holds a seat, then the page says top-up is not available, offers no Top up, and pays once the operator credits', async () => {
    const { concertId } = await createShow(t, 'Paid Elsewhere')
    const { page, shot, context } = await openBrowser(t, w, 'charges-off')

    await page.goto(`/#/concerts/${concertId}`)
    await page.getByRole('button', { name: 'Join the queue' }).click()
    await page.getByRole('status').filter({ hasText: 'number 1' }).waitFor()
    await admitTick(t)
    await page.getByRole('region', { name: 'Dates' }).getByRole('button').first().click()
    await page.getByRole('button', { name: 'Seat 4', exact: true }).click()
    await page.getByRole('button', { name: 'Hold seat' }).click()
    await page.getByText('Balance: ₩0').waitFor()
    await page.getByText('Top-up is not available here: your balance is credited once this site confirms a payment you made.').waitFor()
    expect(await page.getByRole('button', { name: 'Top up' }).count()).toBe(0)
    expect(await page.getByLabel('Amount').count()).toBe(0)

    // A short balance is not told to top up here.
    await page.getByRole('button', { name: 'Pay' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Your balance does not cover this seat.')
    await shot('no-top-up')

    // The operator's payment integration credits the fan once the provider confirms; then Pay works.
    const auth = { authorization: `Bearer ${await pageAccessToken(page)}` }
    const { userId } = json(await t.app.inject({ url: '/v1/me/balance', headers: auth }))
    const credited = await t.app.inject({
      method: 'POST',
      url: `/v1/admin/users/${userId}/balance/charges`,
      headers: { ...admin, 'idempotency-key': 'pi_page_1' },
      payload: { amount: 88_000 },
    })
    expect(credited.statusCode, credited.body).toBe(200)
    await page.getByRole('button', { name: 'Pay' }).click()
    await page.getByText('Confirmed').waitFor()

    // The same in Korean.
    await page.getByRole('button', { name: '한국어' }).click()
    await page.getByText('여기서는 충전할 수 없습니다. 이 사이트에서 결제가 확인되면 잔액이 충전됩니다.').waitFor()
    expect(await page.getByRole('button', { name: '충전' }).count()).toBe(0)
    await shot('no-top-up-korean')
    await context.close()
  })
})
