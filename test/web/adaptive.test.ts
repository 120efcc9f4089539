import { describe, expect, test } from 'vitest'
import { ADAPTIVE_WINDOW_MS } from '../../src/queue/adaptive.js'
import { admin, admitTick, holdSeat, json, queuedFans, sharedTestApp, testSecrets } from '../support/app.js'
import { createShow, openBrowser, sharedBrowser } from '../support/browser.js'
import { pgliteTarget } from '../support/stores.js'

describe('adaptive admission in the operator console in Chromium', () => {
  // Rate admission, two a tick, one tick a second: two ticks an adaptive window.
  const t = sharedTestApp(pgliteTarget, { QUEUE_STRATEGY: 'rate', QUEUE_TICK_MS: '1000', QUEUE_ADMIT_PER_TICK: '2' })
  const w = sharedBrowser(t)
  const queueOf = async (concertId: string) => json(await t.app.inject({ url: `/v1/admin/concerts/${concertId}/queue`, headers: admin }))

  test('when an operator turns adaptive admission on with bounds, then the API agrees, crossed bounds are refused in words, and a decision shows in words and on the chart, in Korean too', async () => {
    const { concertId, scheduleId } = await createShow(t, 'Steady Rate')
    const fans = await queuedFans(t, concertId, 40)
    const { page, shot, context } = await openBrowser(t, w, 'admin-adaptive', { width: 1280, height: 1400 })
    await page.goto('/admin')
    await page.getByLabel('Admin key').fill(testSecrets.ADMIN_KEY)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('button', { name: 'Steady Rate' }).click()

    const panel = page.getByRole('region', { name: 'Adaptive admission' })
    await expect.poll(() => panel.getByRole('status').textContent()).toBe('Adaptive admission is off: the rate per tick stays as set.')
    await panel.getByText('No decision yet').waitFor()

    // On, with bounds and a target.
    await page.getByRole('switch', { name: 'Adaptive' }).check()
    await page.getByLabel('Fewest per tick').fill('2')
    await page.getByLabel('Most per tick').fill('20')
    await page.getByLabel('Target p90 latency (ms)').fill('1500')
    await page.getByRole('button', { name: 'Set adaptive admission' }).click()
    await expect
      .poll(async () => (await queueOf(concertId)).config.adaptive)
      .toEqual({ enabled: true, minAdmitPerTick: 2, maxAdmitPerTick: 20, targetLatencyMs: 1500 })
    await expect.poll(() => panel.getByRole('status').textContent()).toBe('Adaptive admission is on: the line sets its own rate per tick.')

    // A minimum above the maximum: the service refuses it, the page says so, nothing changes.
    await page.getByLabel('Fewest per tick').fill('30')
    await page.getByRole('button', { name: 'Set adaptive admission' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('The fewest per tick must not be above the most per tick.')
    expect((await queueOf(concertId)).config.adaptive).toMatchObject({ minAdmitPerTick: 2, maxAdmitPerTick: 20 })
    await shot('refused')
    await page.getByLabel('Fewest per tick').fill('2')

    // Two windows on a moved clock: each admits at its first tick, two of the admitted hold a seat,
    // and the middle tick decides the window before. Holds answer far under 1500 ms while fans
    // wait and every slot is used: the second decision raises the rate.
    t.clock.advance(ADAPTIVE_WINDOW_MS - (t.clock.now() % ADAPTIVE_WINDOW_MS))
    let seat = 0
    for (let window = 0; window < 2; window++) {
      await admitTick(t, 0)
      // The two admitted last (rate admission takes the line from the front).
      const { active } = await queueOf(concertId)
      for (const fan of fans.slice(active - 2, active)) expect((await holdSeat(t, fan.headers, scheduleId, ++seat)).statusCode).toBe(201)
      await admitTick(t, 1000)
      t.clock.advance(1000)
    }
    const { adaptive } = await queueOf(concertId)
    expect(adaptive).toMatchObject({ enabled: true, admitPerTick: 3, reason: 'headroom', errorRate: 0 })
    expect(adaptive.decision).toMatch(/^p90 \d+ ms, under the 1500 ms target: up to 3 a tick$/)

    // The next refresh shows the decision in the service's words, the signal, and the chart.
    await panel.getByText(adaptive.decision).waitFor()
    await expect.poll(() => panel.getByRole('definition').first().textContent()).toBe('3')
    expect(await panel.getByRole('definition').nth(1).textContent()).toBe(`${Math.round(adaptive.latencyP90Ms)} ms`)
    expect(await panel.getByRole('definition').nth(2).textContent()).toBe('0%')
    const chart = panel.getByRole('figure', { name: 'Admission rate against booking latency' })
    await expect.poll(() => chart.locator('.uplot canvas').count()).toBeGreaterThan(0)
    await expect
      .poll(() => chart.locator('figcaption').textContent())
      .toMatch(
        /^Admitted per tick \(left axis\) and the p90 latency .* against the 1500 ms target \(dashed\)\. \d\d:\d\d:\d\d – \d\d:\d\d:\d\d$/,
      )
    // The series are drawn: uPlot's legend names them.
    for (const name of ['Admitted per tick', 'Booking p90 (ms)', 'Target (ms)']) await chart.getByText(name, { exact: true }).waitFor()
    await shot('decided')

    // The same in Korean, the decision put in Korean words from its reason.
    await page.getByRole('button', { name: '한국어' }).click()
    const korean = page.getByRole('region', { name: '적응형 입장' })
    await expect
      .poll(() => korean.getByRole('status').textContent())
      .toBe('적응형 입장이 켜져 있습니다: 대기열이 틱당 입장 인원을 스스로 정합니다.')
    await korean.getByText(`p90 ${Math.round(adaptive.latencyP90Ms)}ms, 목표 1500ms 미만: 틱당 3명으로 늘림`).waitFor()
    await korean
      .getByRole('figure', { name: '입장 속도와 예매 지연' })
      .getByText(/목표 1500ms\(점선\) 대비/)
      .waitFor()
    await page.getByRole('switch', { name: '적응형' }).waitFor()
    await page.getByRole('button', { name: '적응형 입장 적용' }).waitFor()
    await shot('korean')
    await context.close()
  })
})
