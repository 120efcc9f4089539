import type { Locator } from 'playwright-core'
import { describe, expect, test } from 'vitest'
import { CANCEL_SETTLE_MS } from '../../src/payment/refunds.js'
import { admin, createUser, json, readBalance, sharedTestApp, type TestApp, testSecrets, type User } from '../support/app.js'
import { createShow, type FanBrowser, heldSeat, openBrowser, openBrowserAs, paidSeat, sharedBrowser } from '../support/browser.js'
import { pgliteTarget } from '../support/stores.js'

const HOUR_MS = 3600 * 1000
/** createShow's price. */
const PRICE = 88_000

const setPolicy = async (t: TestApp, concertId: string, refundPolicy: { refundableUntilHours: number; feePercent: number } | null) => {
  const res = await t.app.inject({ method: 'PATCH', url: `/v1/admin/concerts/${concertId}`, headers: admin, payload: { refundPolicy } })
  expect(res.statusCode).toBe(200)
}

const reservationsOf = async (t: TestApp, user: User) =>
  json(await t.app.inject({ url: '/v1/me/reservations', headers: user.auth })).items as { reservationId: string; status: string }[]
const statusOf = async (t: TestApp, user: User, reservationId: string) =>
  (await reservationsOf(t, user)).find((r) => r.reservationId === reservationId)?.status

/** The console, signed in (in English or Korean). */
async function signIn(page: FanBrowser['page']) {
  await page.goto('/admin')
  await page.getByLabel(/Admin key|관리자 키/).fill(testSecrets.ADMIN_KEY)
  await page.getByRole('button', { name: /Sign in|로그인/ }).click()
}

/** The console, signed in, with `title` chosen; its Dates region. */
async function consoleAt(page: FanBrowser['page'], title: string): Promise<Locator> {
  await signIn(page)
  await page.getByRole('button', { name: title }).click()
  await page.getByRole('heading', { name: title }).waitFor()
  return page.getByRole('region', { name: /^(Dates|날짜)$/ })
}

/** Runs the cancellations' loop as every process does: a batch, then (past the settle time) the end. */
async function finishCancellations(t: TestApp) {
  await t.app.components.refunds.runCancellations()
  t.clock.advance(CANCEL_SETTLE_MS)
  await t.app.components.refunds.runCancellations()
}

describe('refunds and cancelled dates in Chromium', () => {
  const t = sharedTestApp(pgliteTarget, { HOLD_TTL_S: '600' })
  const w = sharedBrowser(t)

  test('when a fan refunds a paid seat from My tickets, then the page shows the amount back and the fee first, and the API agrees', async () => {
    const { concertId, scheduleId } = await createShow(t, 'Second Thoughts')
    await setPolicy(t, concertId, { refundableUntilHours: 48, feePercent: 3.33 })
    const fan = await createUser(t)
    const reservationId = await paidSeat(t, fan, concertId, scheduleId, 3)
    const { page, shot, context } = await openBrowserAs(t, w, 'refund', fan)

    await page.goto('/#/tickets')
    const ticket = page.getByRole('listitem').filter({ hasText: 'Second Thoughts — seat 3' })
    await ticket.getByText('Confirmed').waitFor()
    await ticket.getByText('Refundable until 48 hours before the date, less a 3.33% fee.').waitFor()
    await shot('ticket')

    // 88,000 less 3.33 %: 85,069.6, rounded down to 85,069 back, 2,931 kept.
    await ticket.getByRole('button', { name: 'Refund', exact: true }).click()
    const question = ticket.getByRole('group', { name: 'Refund this ticket? The seat goes back on sale.' })
    await expect.poll(() => question.getByRole('definition').allTextContents()).toEqual(['₩85,069', '₩2,931'])
    await expect.poll(() => question.getByRole('term').allTextContents()).toEqual(['Back to your balance', 'Fee'])
    await shot('asked')
    // Keeping the ticket changes nothing.
    await question.getByRole('button', { name: 'Keep ticket' }).click()
    await ticket.getByRole('button', { name: 'Refund', exact: true }).waitFor()
    expect(await statusOf(t, fan, reservationId)).toBe('CONFIRMED')

    await ticket.getByRole('button', { name: 'Refund', exact: true }).click()
    await question.getByRole('button', { name: 'Confirm refund' }).click()
    await ticket.getByText('Refunded', { exact: true }).waitFor()
    await ticket.getByText('₩85,069 went back to your balance.').waitFor()
    await page.getByRole('status').filter({ hasText: 'Balance: ₩85,069' }).waitFor()
    expect(await ticket.getByRole('button', { name: 'Refund', exact: true }).count()).toBe(0)
    await shot('refunded')

    expect(await readBalance(t, fan.auth)).toBe(85_069)
    expect(await statusOf(t, fan, reservationId)).toBe('REFUNDED')
    const history = json(await t.app.inject({ url: '/v1/me/balance/history', headers: fan.auth })).items
    expect(history[0]).toMatchObject({ kind: 'REFUND', amount: 85_069, balanceAfter: 85_069 })

    // A refunded ticket stays listed, and offers nothing more.
    await page.reload()
    await ticket.getByText('Refunded', { exact: true }).waitFor()
    expect(await ticket.getByRole('button').count()).toBe(0)
    await context.close()
  })

  test('when a ticket’s concert takes no refunds, or its refunds have closed, then the page says why in words and nothing is refunded', async () => {
    const none = await createShow(t, 'No Way Back')
    const late = await createShow(t, 'Too Late Now')
    // The date is 30 days away: refunds closed 31 days before it, a day ago.
    await setPolicy(t, late.concertId, { refundableUntilHours: 31 * 24, feePercent: 10 })
    const fan = await createUser(t)
    const kept = await paidSeat(t, fan, none.concertId, none.scheduleId, 1)
    const tooLate = await paidSeat(t, fan, late.concertId, late.scheduleId, 2)
    const [date] = json(await t.app.inject({ url: `/v1/admin/concerts/${late.concertId}/schedules`, headers: admin })).items
    const closedAt = new Date(Date.parse(date.startsAt) - 31 * 24 * HOUR_MS)
    const { page, shot, context } = await openBrowserAs(t, w, 'refund-refused', fan, { timezoneId: 'Asia/Seoul' })

    await page.goto('/#/tickets')
    const noRefunds = page.getByRole('listitem').filter({ hasText: 'No Way Back — seat 1' })
    await noRefunds.getByText('No refunds for this concert.').waitFor()
    expect(await noRefunds.getByRole('button').count()).toBe(0)

    // The ticket carries its date's start: the page says when refunds closed and offers none.
    const closed = page.getByRole('listitem').filter({ hasText: 'Too Late Now — seat 2' })
    const when = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Seoul' }).format(closedAt)
    await closed.getByText(`Refunds for this date closed at ${when}.`).waitFor()
    expect(await closed.getByRole('button').count()).toBe(0)
    await closed.getByText('Confirmed').waitFor()
    await shot('refused')

    expect(await statusOf(t, fan, kept)).toBe('CONFIRMED')
    expect(await statusOf(t, fan, tooLate)).toBe('CONFIRMED')
    expect(await readBalance(t, fan.auth)).toBe(0)
    await context.close()
  })

  test('when an operator cancels a date, then the console asks first, shows the refunds’ progress until CANCELLED, and the API agrees', async () => {
    const { concertId, scheduleId } = await createShow(t, 'Called Off')
    const [first, second, holder] = [await createUser(t), await createUser(t), await createUser(t)]
    const paid = [await paidSeat(t, first!, concertId, scheduleId, 1), await paidSeat(t, second!, concertId, scheduleId, 2)]
    const held = await heldSeat(t, holder!, concertId, scheduleId, 3)
    const { page, shot, context } = await openBrowser(t, w, 'cancel-date', { width: 1280, height: 1000 })

    const dates = await consoleAt(page, 'Called Off')
    const date = dates.getByRole('listitem')
    await date.getByText('On sale').waitFor()
    await date.getByRole('button', { name: 'Cancel date' }).click()
    const question = date.getByRole('group', { name: /^Cancel the date of .+\?$/ })
    await question
      .getByText('Every paid seat is refunded in full, with no fee; every hold is released; nothing more is sold. This cannot be undone.')
      .waitFor()
    await shot('asked')
    // Keeping it on sale changes nothing.
    await question.getByRole('button', { name: 'Keep on sale' }).click()
    await date.getByRole('button', { name: 'Cancel date' }).click()
    expect(json(await t.app.inject({ url: `/v1/admin/schedules/${scheduleId}/cancellation`, headers: admin })).code).toBe('NOT_FOUND')

    await question.getByRole('button', { name: 'Cancel this date' }).click()
    const progress = date.getByRole('progressbar', { name: /^Refunds for / })
    await date.getByText('Cancelling').waitFor()
    await expect.poll(() => date.getByRole('status').textContent()).toBe('Refunded 0 of 2')
    expect([await progress.getAttribute('value'), await progress.getAttribute('max')]).toEqual(['0', '2'])
    expect(await progress.getAttribute('aria-valuetext')).toBe('Refunded 0 of 2')
    expect(await date.getByRole('button', { name: 'Cancel date' }).count()).toBe(0)
    await shot('cancelling')

    // The loop refunds both seats; the date ends CANCELLED once the settle time has passed.
    await t.app.components.refunds.runCancellations()
    await expect.poll(() => date.getByRole('status').textContent()).toBe('Refunded 2 of 2')
    expect(await progress.getAttribute('value')).toBe('2')
    await date.getByText('Cancelling').waitFor()
    t.clock.advance(CANCEL_SETTLE_MS)
    await t.app.components.refunds.runCancellations()
    await date.getByText('Cancelled', { exact: true }).waitFor()
    await shot('cancelled')

    const api = json(await t.app.inject({ url: `/v1/admin/schedules/${scheduleId}/cancellation`, headers: admin }))
    expect(api).toEqual({ scheduleId, status: 'CANCELLED', refunded: 2, toRefund: 2 })
    const listed = json(await t.app.inject({ url: `/v1/admin/concerts/${concertId}/schedules`, headers: admin })).items
    expect(listed).toMatchObject([{ scheduleId, status: 'CANCELLED' }])
    expect([await statusOf(t, first!, paid[0]!), await statusOf(t, second!, paid[1]!)]).toEqual(['REFUNDED', 'REFUNDED'])
    // In full, with no fee; the hold released.
    expect([await readBalance(t, first!.auth), await readBalance(t, second!.auth)]).toEqual([PRICE, PRICE])
    expect(await statusOf(t, holder!, held.reservationId)).toBe('RELEASED')

    // Opened again, the cancelled date shows what its cancellation did, and offers nothing.
    await page.reload()
    await page.getByRole('button', { name: 'Called Off' }).click()
    await date.getByText('Cancelled', { exact: true }).waitFor()
    await expect.poll(() => date.getByRole('status').textContent()).toBe('Refunded 2 of 2')
    expect(await date.getByRole('button').count()).toBe(0)
    await context.close()
  })

  test('when an operator creates a concert with fan refunds and changes them, then the API has the policy, then none, then the new one', async () => {
    const { page, shot, context } = await openBrowser(t, w, 'refund-policy', { width: 1280, height: 1000 })
    await signIn(page)

    const form = page.getByRole('form', { name: 'New concert' })
    await form.getByLabel('Title').fill('Refundable Show')
    await form.getByLabel('Performer').fill('The Policies')
    await form.getByLabel('Venue').fill('Policy Hall')
    const on = form.getByRole('switch', { name: 'Fan refunds' })
    expect(await on.isChecked()).toBe(false)
    await form.getByText('Fans cannot refund. A cancelled date is refunded in full all the same.').waitFor()
    await on.check()
    await form.getByLabel('Refunds close (hours before the date)').fill('72')
    await form.getByLabel('Refund fee (%)').fill('5.5')
    await shot('new-concert')
    await form.getByRole('button', { name: 'Create' }).click()
    await page.getByRole('heading', { name: 'Refundable Show' }).waitFor()

    const policyOf = async () =>
      (json(await t.app.inject({ url: '/v1/concerts' })).items as { title: string; refundPolicy: unknown }[]).find(
        (c) => c.title === 'Refundable Show',
      )?.refundPolicy
    expect(await policyOf()).toEqual({ refundableUntilHours: 72, feePercent: 5.5 })

    // The concert's rules show the policy it has; off sends null.
    const rules = page.getByRole('form', { name: 'Sale rules' })
    const edit = rules.getByRole('switch', { name: 'Fan refunds' })
    expect(await edit.isChecked()).toBe(true)
    expect(await rules.getByLabel('Refunds close (hours before the date)').inputValue()).toBe('72')
    await edit.uncheck()
    await rules.getByRole('button', { name: 'Save' }).click()
    await expect.poll(policyOf).toBeNull()

    await edit.check()
    await rules.getByLabel('Refunds close (hours before the date)').fill('0')
    await rules.getByLabel('Refund fee (%)').fill('12.25')
    await rules.getByRole('button', { name: 'Save' }).click()
    await expect.poll(policyOf).toEqual({ refundableUntilHours: 0, feePercent: 12.25 })
    await shot('changed')
    await context.close()
  })

  test('when the browser speaks Korean, then the refund and the cancellation are in Korean words', async () => {
    const { concertId, scheduleId } = await createShow(t, '환불 공연')
    await setPolicy(t, concertId, { refundableUntilHours: 24, feePercent: 10 })
    const [fan, other] = [await createUser(t), await createUser(t)]
    await paidSeat(t, fan!, concertId, scheduleId, 5)
    await paidSeat(t, other!, concertId, scheduleId, 6)
    const { page, shot, context } = await openBrowserAs(t, w, 'refund-korean', fan!, { locale: 'ko-KR' })

    await page.goto('/#/tickets')
    const ticket = page.getByRole('listitem').filter({ hasText: '환불 공연 — 좌석 5' })
    await ticket.getByText('공연 24시간 전까지 환불할 수 있으며, 수수료 10%를 뺍니다.').waitFor()
    await ticket.getByRole('button', { name: '환불', exact: true }).click()
    const question = ticket.getByRole('group', { name: '이 티켓을 환불할까요? 좌석은 다시 판매됩니다.' })
    await expect.poll(() => question.getByRole('term').allTextContents()).toEqual(['잔액으로 돌려받는 금액', '수수료'])
    await expect.poll(() => question.getByRole('definition').allTextContents()).toEqual(['₩79,200', '₩8,800'])
    await question.getByRole('button', { name: '환불 확인' }).click()
    await ticket.getByText('환불됨', { exact: true }).waitFor()
    await ticket.getByText('₩79,200이(가) 잔액으로 돌아왔습니다.').waitFor()
    await shot('refunded')
    expect(await readBalance(t, fan!.auth)).toBe(79_200)

    const dates = await consoleAt(page, '환불 공연')
    await page.getByRole('form', { name: '판매 규칙' }).getByRole('switch', { name: '팬 환불' }).waitFor()
    const date = dates.getByRole('listitem')
    await date.getByText('판매 중').waitFor()
    await date.getByRole('button', { name: '날짜 취소', exact: true }).click()
    await date
      .getByText('결제한 좌석은 모두 수수료 없이 전액 환불되고, 선점은 모두 풀리며, 더 이상 판매하지 않습니다. 되돌릴 수 없습니다.')
      .waitFor()
    await date.getByRole('button', { name: '이 날짜 취소' }).click()
    await date.getByText('취소 중').waitFor()
    await expect.poll(() => date.getByRole('status').textContent()).toBe('1석 중 0석 환불함')
    await date.getByRole('progressbar', { name: / 환불 진행률$/ }).waitFor()
    await finishCancellations(t)
    await date.getByText('취소됨', { exact: true }).waitFor()
    await expect.poll(() => date.getByRole('status').textContent()).toBe('1석 중 1석 환불함')
    await shot('cancelled')
    expect(await readBalance(t, other!.auth)).toBe(PRICE)
    await context.close()
  })
})
