import { describe, expect, test } from 'vitest'
import { admitTick, admittedFans, holdSeat, json, seatMap, sharedTestApp } from '../support/app.js'
import { createShow, openBrowser, sharedBrowser } from '../support/browser.js'
import { pgliteTarget } from '../support/stores.js'

const STADIUM = [
  { name: 'Floor', rows: 20, seatsPerRow: 100, price: 198_000 },
  { name: 'Lower Bowl', rows: 100, seatsPerRow: 250, price: 154_000 },
  { name: 'Upper Bowl', rows: 110, seatsPerRow: 300, price: 121_000 },
]

describe('the 60,000-seat map in Chromium', () => {
  const t = sharedTestApp(pgliteTarget)
  const w = sharedBrowser(t)

  test('when a fan picks stadium seats on the canvas map, then best available, a tap and the picker each choose a free seat, and holds land', async () => {
    const { concertId, scheduleId } = await createShow(t, 'World Tour', STADIUM)
    // Another fan already holds the best seat (front row, middle of the floor).
    const [rival] = await admittedFans(t, concertId, 1)
    expect((await holdSeat(t, rival!.headers, scheduleId, 50)).statusCode).toBe(201)

    const { page, shot, context } = await openBrowser(t, w, 'stadium', { width: 900, height: 1100 })
    await page.goto(`/#/concerts/${concertId}`)
    await page.getByRole('button', { name: 'Join the queue' }).click()
    await page.getByRole('status').filter({ hasText: 'number 1' }).waitFor()
    await admitTick(t)
    await page.getByRole('region', { name: 'Dates' }).getByRole('button').first().click()
    const canvas = page.getByRole('img', { name: /^Seat map of 60,000 seats/ })
    await canvas.waitFor()
    // A big map is drawn, not made of 60,000 buttons.
    expect(await page.getByRole('button', { name: /^Seat \d+$/ }).count()).toBe(0)
    await shot('map')

    await page.getByRole('button', { name: 'Best available' }).click()
    await page.getByText('Seat 51 · Floor, row 1').waitFor()
    await page.getByRole('button', { name: 'Hold seat' }).click()
    await page.getByRole('timer').waitFor()
    await shot('best-available-held')

    // A tap on the canvas: at the smallest zoom a seat is 2 px; the floor, 100 seats wide, is
    // centred under the 300-seat upper bowl, below an 18 px label.
    await canvas.click({ position: { x: 200 + 2 * 10 + 1, y: 18 + 2 * 3 + 1 } })
    await page.getByText('Seat 311 · Floor, row 4').waitFor()

    await page.getByLabel('Section').selectOption({ label: 'Lower Bowl' })
    await page.getByLabel('Row').fill('3')
    await page.getByLabel('Seat', { exact: true }).fill('7')
    await page.getByRole('button', { name: 'Choose' }).click()
    await page.getByText('Seat 2507 · Lower Bowl, row 3').waitFor()
    await page.getByRole('button', { name: 'Zoom in' }).click()
    await page.getByRole('button', { name: 'Zoom in' }).click()
    await page.getByRole('button', { name: 'Hold seat' }).click()
    await expect.poll(() => page.getByRole('timer').count()).toBe(2)
    await shot('picker-held')

    const compact = json(await seatMap(t, rival!.headers, scheduleId, 'compact'))
    expect(compact.held.sort((a: number, b: number) => a - b)).toEqual([50, 51, 2507])
    await context.close()
  })
})
