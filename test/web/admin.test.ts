import { describe, expect, test } from 'vitest'
import { admin, json, queuedFans, sharedTestApp, testSecrets } from '../support/app.js'
import { createShow, openBrowser, sharedBrowser, stored } from '../support/browser.js'
import { pgliteTarget } from '../support/stores.js'

describe('the operator console in Chromium', () => {
  const t = sharedTestApp(pgliteTarget)
  const w = sharedBrowser(t)
  const queueOf = async (concertId: string) => json(await t.app.inject({ url: `/v1/admin/concerts/${concertId}/queue`, headers: admin }))

  test('when an operator signs in and pauses a queue, then the API agrees, and resuming and settings reach it too', async () => {
    const { concertId } = await createShow(t, 'Console Check')
    await queuedFans(t, concertId, 3)
    const { page, shot, context } = await openBrowser(t, w, 'admin', { width: 1280, height: 1000 })

    await page.goto('/admin')
    await page.getByLabel('Admin key').fill('not-the-admin-key-at-all')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('That admin key was not accepted.')
    await page.getByLabel('Admin key').fill(testSecrets.ADMIN_KEY)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('button', { name: 'Sign out' }).waitFor()
    // The key is kept for the tab only.
    expect(await stored(page, 'sessionStorage', 'stagedoor.adminKey')).toBe(testSecrets.ADMIN_KEY)
    expect(await stored(page, 'localStorage', 'stagedoor.adminKey')).toBeNull()

    await page.getByRole('button', { name: 'Console Check' }).click()
    const live = page.getByRole('region', { name: 'Live' })
    await expect.poll(() => live.getByRole('definition').first().textContent()).toBe('3')
    await expect.poll(() => page.locator('.uplot canvas').count()).toBeGreaterThan(0)
    await shot('live')

    await page.getByRole('button', { name: 'Pause' }).click()
    await page.getByRole('button', { name: 'Resume' }).waitFor()
    expect((await queueOf(concertId)).config.paused).toBe(true)
    await shot('paused')

    await page.getByRole('button', { name: 'Resume' }).click()
    await page.getByRole('button', { name: 'Pause' }).waitFor()
    expect((await queueOf(concertId)).config.paused).toBe(false)

    await page.getByLabel('Strategy').selectOption('cap')
    await page.getByLabel('Admitted per tick').fill('25')
    await page.getByLabel('Most active at once').fill('40')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(async () => (await queueOf(concertId)).config).toMatchObject({ strategy: 'cap', admitPerTick: 25, maxActive: 40 })
    await context.close()
  })

  test('when a concert has no figures yet, then its chart spans the two minutes up to now, not 1970', async () => {
    await createShow(t, 'Quiet Chart')
    // The caption is in the viewer's time of day: a browser in Seoul (UTC+9 all year), whatever the host's zone.
    const seoulOffsetS = 9 * 3600
    const { page, shot, context } = await openBrowser(t, w, 'admin-chart', { width: 1280, height: 1000, timezoneId: 'Asia/Seoul' })
    await page.goto('/admin')
    await page.getByLabel('Admin key').fill(testSecrets.ADMIN_KEY)
    await page.getByRole('button', { name: 'Sign in' }).click()
    const pageNow = () => page.evaluate<number>('Date.now()')
    const before = await pageNow()
    await page.getByRole('button', { name: 'Quiet Chart' }).click()
    // The caption says the span the time axis shows, as HH:MM:SS – HH:MM:SS.
    const caption = await page.getByRole('figure', { name: 'The last minutes' }).locator('figcaption').textContent()
    const after = await pageNow()
    const [from, to] = [...caption!.matchAll(/(\d\d):(\d\d):(\d\d)/g)].map(([, h, m, s]) => (Number(h) * 60 + Number(m)) * 60 + Number(s))
    // Differences of times of day, across midnight too.
    const minus = (a: number, b: number) => ((((a - b) % 86_400) + 86_400 + 43_200) % 86_400) - 43_200
    const secondOfDay = (ms: number) => (Math.floor(ms / 1000) + seoulOffsetS) % 86_400
    expect(minus(to!, secondOfDay(before))).toBeGreaterThanOrEqual(-1)
    expect(minus(to!, secondOfDay(after))).toBeLessThanOrEqual(1)
    expect(minus(to!, from!)).toBe(120)
    await shot('empty-chart')
    await context.close()
  })

  test('when an operator creates a concert and a date with two sections, then both exist with the seats added up', async () => {
    const { page, shot, context } = await openBrowser(t, w, 'admin-create', { width: 1280, height: 1000 })
    await page.goto('/admin')
    await page.getByLabel('Admin key').fill(testSecrets.ADMIN_KEY)
    await page.getByRole('button', { name: 'Sign in' }).click()

    const form = page.getByRole('form', { name: 'New concert' })
    await form.getByLabel('Title').fill('Made In The Console')
    await form.getByLabel('Performer').fill('The Operators')
    await form.getByLabel('Venue').fill('Control Room')
    await form.getByRole('button', { name: 'Create' }).click()
    await page.getByRole('heading', { name: 'Made In The Console' }).waitFor()

    const date = page.getByRole('form', { name: 'New date' })
    await date.getByLabel('Starts at').fill(new Date(t.clock.now() + 40 * 24 * 3600 * 1000).toISOString().slice(0, 16))
    await date.getByRole('button', { name: 'Add section' }).click()
    const names = date.getByLabel('Name')
    await names.nth(1).fill('Balcony')
    await date.getByLabel('Rows').nth(1).fill('4')
    await date.getByLabel('Seats per row').nth(1).fill('25')
    await date.getByLabel('Price (won)').nth(1).fill('55000')
    await date.getByRole('button', { name: 'Add section' }).click()
    await date.getByRole('button', { name: 'Remove section 3' }).click()
    await expect.poll(() => names.count()).toBe(2)
    await date.getByText('300 seats in all').waitFor()
    await shot('new-date')
    await date.getByRole('button', { name: 'Add date' }).click()
    await page.getByText(/300 of 300 seats free/).waitFor()
    await shot('created')

    const concerts = json(await t.app.inject({ url: '/v1/concerts' })).items
    const made = concerts.find((c: any) => c.title === 'Made In The Console')
    expect(made).toMatchObject({ performer: 'The Operators', venue: 'Control Room' })
    const dates = json(await t.app.inject({ url: `/v1/admin/concerts/${made.concertId}/schedules`, headers: admin })).items
    expect(dates).toMatchObject([{ totalSeats: 300, availableSeats: 300 }])
    await context.close()
  })
})
