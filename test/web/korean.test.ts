import { describe, expect, test } from 'vitest'
import { admitTick, sharedTestApp } from '../support/app.js'
import { createShow, openBrowser, pageLanguage, sharedBrowser } from '../support/browser.js'
import { pgliteTarget } from '../support/stores.js'

describe('fan pages in a Korean browser', () => {
  const t = sharedTestApp(pgliteTarget)
  const w = sharedBrowser(t)

  test('when the browser speaks Korean, then the pages and their accessible names are Korean, and English is one switch away', async () => {
    await createShow(t, '한밤의 메아리')
    const { page, shot, context } = await openBrowser(t, w, 'korean', { locale: 'ko-KR' })

    await page.goto('/')
    await page.getByRole('heading', { name: '공연' }).waitFor()
    await expect.poll(() => pageLanguage(page)).toBe('ko')
    await shot('concerts')
    await page.getByRole('link', { name: '한밤의 메아리' }).click()
    await page.getByRole('button', { name: '대기열 참가' }).click()
    await expect.poll(() => page.getByRole('status').textContent()).toContain('대기 순서: 1번째')
    await page.getByText('이 페이지를 열어 두세요 — 새로고침해도 순서는 유지됩니다.').waitFor()
    await shot('waiting')

    await admitTick(t)
    const dates = page.getByRole('region', { name: '날짜' })
    await dates.getByRole('button').first().click()
    await page.getByRole('button', { name: '좌석 3', exact: true }).click()
    await page.getByRole('button', { name: '좌석 선점' }).click()
    await page.getByRole('timer').waitFor()
    await page.getByLabel('금액').fill('88000')
    await page.getByRole('button', { name: '충전' }).click()
    await page.getByText('잔액: ₩88,000').waitFor()
    await page.getByRole('button', { name: '결제' }).click()
    await page.getByText('확정').waitFor()
    await shot('paid')

    await page.getByRole('link', { name: '내 티켓' }).click()
    await expect.poll(() => page.getByRole('listitem').textContent()).toContain('확정')
    await shot('my-tickets')

    // The switch is named in the language it switches to; the choice outlives a reload.
    await page.getByRole('button', { name: 'English' }).click()
    await page.getByRole('heading', { name: 'My tickets' }).waitFor()
    await page.reload()
    await page.getByRole('link', { name: 'My tickets' }).waitFor()
    await expect.poll(() => pageLanguage(page)).toBe('en')
    expect(await page.getByRole('button', { name: '한국어' }).count()).toBe(1)
    await context.close()
  })
})
