import type { Page } from 'playwright-core'
import { describe, expect, test } from 'vitest'
import { admin, admitTick, createUser, json, sharedTestApp, testSecrets } from '../support/app.js'
import { openBrowser, openBrowserAs, paidSeat, sharedBrowser } from '../support/browser.js'
import { pgliteTarget } from '../support/stores.js'

/** A phone's width in CSS pixels. */
const PHONE = 390

/** A 200-character name without a space: the longest one word the API takes. */
const longWord = (stem: string) => stem.repeat(Math.ceil(200 / stem.length)).slice(0, 200)
const TITLE = longWord('Supercalifragilistic')
const PERFORMER = longWord('Performer')
const VENUE = longWord('Venue')
const SECTION = longWord('Section')

/**
 * How wide the document is, and what sticks out past the screen (for the failure message). (The
 * expression is given as text: the tests are type-checked without the browser's globals.)
 */
const widthOf = (page: Page) =>
  page.evaluate<{ scrollWidth: number; wider: string[] }>(`(() => {
    const wider = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > ${PHONE} + 0.5)
      .map((e) => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' ' + Math.round(e.getBoundingClientRect().right))
    return { scrollWidth: document.documentElement.scrollWidth, wider: wider.slice(0, 5) }
  })()`)

async function expectFits(page: Page, where: string) {
  const { scrollWidth, wider } = await widthOf(page)
  expect(scrollWidth, `${where}: ${wider.join(', ')}`).toBeLessThanOrEqual(PHONE)
}

describe('200-character names without a space on a 390 px screen', () => {
  const t = sharedTestApp(pgliteTarget)
  const w = sharedBrowser(t)
  const day = 24 * 3600 * 1000

  /** A concert with the long names: a 50-seat date (a grid of seats) and a 1,200-seat one (the canvas and its picker). */
  async function longNamedConcert(): Promise<string> {
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/concerts',
      headers: admin,
      payload: { title: TITLE, performer: PERFORMER, venue: VENUE },
    })
    expect(created.statusCode).toBe(201)
    const { concertId } = json(created)
    for (const [days, rows, seatsPerRow] of [
      [30, 5, 10],
      [31, 12, 100],
    ] as const) {
      const schedule = await t.app.inject({
        method: 'POST',
        url: `/v1/admin/concerts/${concertId}/schedules`,
        headers: admin,
        payload: {
          startsAt: new Date(t.clock.now() + days * day).toISOString(),
          sections: [{ name: SECTION, rows, seatsPerRow, price: 88_000 }],
        },
      })
      expect(schedule.statusCode).toBe(201)
    }
    return concertId
  }

  test('when a fan lists concerts, opens one, picks a seat, holds it and opens the large date, then nothing is wider than the screen', async () => {
    await longNamedConcert()
    const { page, shot, context } = await openBrowser(t, w, 'long-names-fan', { width: PHONE, height: 844 })

    await page.goto('/')
    await page.getByRole('link', { name: TITLE }).waitFor()
    await expectFits(page, 'the concert list')
    await shot('list')

    await page.getByRole('link', { name: TITLE }).click()
    await page.getByRole('heading', { name: TITLE }).waitFor()
    await expectFits(page, 'the concert page')
    await page.getByRole('button', { name: 'Join the queue' }).click()
    await page.getByRole('status').filter({ hasText: 'number 1' }).waitFor()
    await admitTick(t)
    const dates = page.getByRole('region', { name: 'Dates' })
    await dates.getByRole('button').first().waitFor()
    await expectFits(page, 'the dates')

    await dates.getByRole('button').first().click()
    await page.getByRole('heading', { name: SECTION }).waitFor()
    await page.getByRole('button', { name: 'Seat 7', exact: true }).click()
    await expectFits(page, 'the seat grid with a seat chosen')
    await shot('seat-chosen')
    await page.getByRole('button', { name: 'Hold seat' }).click()
    await page.getByRole('region', { name: 'Your seats' }).getByText(SECTION, { exact: false }).waitFor()
    await expectFits(page, 'the hold')
    await shot('held')

    await dates.getByRole('button').nth(1).click()
    await page.getByRole('combobox', { name: 'Section' }).waitFor()
    await expectFits(page, 'the canvas and its picker')
    await shot('canvas')
    await context.close()
  })

  test('when a fan opens My tickets with a paid ticket of that concert and asks to refund it, then nothing is wider than the screen', async () => {
    const concertId = await longNamedConcert()
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/v1/admin/concerts/${concertId}`,
      headers: admin,
      payload: { refundPolicy: { refundableUntilHours: 24, feePercent: 12.34 } },
    })
    expect(patched.statusCode).toBe(200)
    const [date] = json(await t.app.inject({ url: `/v1/admin/concerts/${concertId}/schedules`, headers: admin })).items
    const fan = await createUser(t)
    await paidSeat(t, fan, concertId, date.scheduleId, 1)
    const { page, shot, context } = await openBrowserAs(t, w, 'long-names-tickets', fan, { width: PHONE, height: 844 })

    await page.goto('/#/tickets')
    const ticket = page.getByRole('listitem').filter({ hasText: TITLE })
    await ticket.getByRole('button', { name: 'Refund', exact: true }).click()
    await ticket.getByRole('button', { name: 'Confirm refund' }).waitFor()
    await expectFits(page, 'a ticket asking to confirm its refund')
    await shot('refund-asked')
    await ticket.getByRole('button', { name: 'Confirm refund' }).click()
    await ticket.getByText('Refunded').first().waitFor()
    await expectFits(page, 'a refunded ticket')
    // A year before a date 30 days away has passed: a ticket says when refunds closed.
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/admin/concerts/${concertId}`,
      headers: admin,
      payload: { refundPolicy: { refundableUntilHours: 8760, feePercent: 12.34 } },
    })
    await paidSeat(t, fan, concertId, date.scheduleId, 2)
    await page.reload()
    await ticket
      .getByText(/Refunds for this date closed at/)
      .first()
      .waitFor()
    await expectFits(page, 'a ticket whose refunds have closed')
    await shot('refund-closed')
    await context.close()
  })

  test('when an operator opens the console with that concert chosen and cancels a date, then nothing is wider than the screen', async () => {
    await longNamedConcert()
    const { page, shot, context } = await openBrowser(t, w, 'long-names-admin', { width: PHONE, height: 844 })

    await page.goto('/admin')
    await page.getByLabel('Admin key').fill(testSecrets.ADMIN_KEY)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('button', { name: TITLE }).first().click()
    await page.getByRole('heading', { name: TITLE }).waitFor()
    await page.getByRole('region', { name: 'Dates' }).getByRole('listitem').first().waitFor()
    await expectFits(page, 'the console')
    await shot('console')

    const date = page.getByRole('region', { name: 'Dates' }).getByRole('listitem').first()
    await date.getByRole('button', { name: 'Cancel date' }).click()
    await date.getByRole('button', { name: 'Cancel this date' }).waitFor()
    await expectFits(page, 'a date asking to confirm its cancellation')
    await date.getByRole('button', { name: 'Cancel this date' }).click()
    await date.getByRole('progressbar').waitFor()
    await expectFits(page, 'a date being cancelled')
    await shot('cancelling')
    await context.close()
  })
})
