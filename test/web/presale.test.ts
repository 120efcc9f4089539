import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import {
  admin,
  admitTick,
  createUser,
  joinQueue,
  json,
  presaleCodes,
  presaleConcert,
  sharedTestApp,
  type TestApp,
  testSecrets,
} from '../support/app.js'
import { openBrowser, pageAccessToken, sharedBrowser } from '../support/browser.js'
import { pgliteTarget } from '../support/stores.js'

const MINUTE = 60_000

/** A datetime-local value for an instant, in this machine's time zone, which the browser shares. */
function localInput(ms: number): string {
  const d = new Date(ms)
  return new Date(ms - d.getTimezoneOffset() * MINUTE).toISOString().slice(0, 16)
}

const codesOf = async (t: TestApp, concertId: string) =>
  json(await t.app.inject({ url: `/v1/admin/concerts/${concertId}/presale-codes`, headers: admin })).items

describe('presale codes in Chromium', () => {
  const t = sharedTestApp(pgliteTarget)
  const w = sharedBrowser(t)

  test('when a fan joins a presale from the page, then refusals are said in words and a right code puts the fan in line', async () => {
    const { concertId } = await presaleConcert(t)
    const [code, taken] = await presaleCodes(t, concertId, 2)
    // Someone else is in line already, with the other code.
    const other = await createUser(t)
    const first = await t.app.inject({
      method: 'POST',
      url: `/v1/concerts/${concertId}/queue`,
      headers: other.auth,
      payload: { code: taken },
    })
    expect(first.statusCode).toBe(201)

    const { page, shot, context } = await openBrowser(t, w, 'presale-join')
    await page.goto(`/#/concerts/${concertId}`)
    await page.getByText(/^Presale from .*: until the general sale opens .*, joining needs a presale code\.$/).waitFor()
    const field = page.getByLabel('Presale code')
    const joinButton = page.getByRole('button', { name: 'Join the queue' })
    const alert = page.getByRole('alert')

    await joinButton.click()
    await expect.poll(() => alert.textContent()).toBe('This is the presale: enter your presale code to join.')
    await field.fill(taken!)
    await joinButton.click()
    await expect.poll(() => alert.textContent()).toBe('That presale code has already been used by someone else.')
    await field.fill('ZZZZZ-ZZZZZ-ZZZZZ')
    await field.press('Enter')
    await expect.poll(() => alert.textContent()).toBe('That is not a presale code for this concert. Check it and try again.')
    await shot('refused')

    // Typed as a person might: lower case, spaces for dashes.
    await field.fill(code!.toLowerCase().replaceAll('-', ' '))
    await joinButton.click()
    await expect.poll(() => page.getByRole('status').textContent()).toContain('You are number 2 in line')
    await shot('in-line')
    const me = json(await t.app.inject({ url: '/v1/me/balance', headers: { authorization: `Bearer ${await pageAccessToken(page)}` } }))
    const listed = await codesOf(t, concertId)
    expect(listed.find((c: { code: string }) => c.code === code)).toMatchObject({ uses: 1, firstUsedBy: me.userId })

    // The presale admits: the fan's turn comes before the sale opens.
    await admitTick(t)
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('It is your turn')
    await shot('admitted')
    await context.close()

    // In Korean the field is named in Korean.
    const korean = await openBrowser(t, w, 'presale-join-ko', { locale: 'ko-KR' })
    await korean.page.goto(`/#/concerts/${concertId}`)
    await korean.page.getByLabel('선예매 코드').fill(taken!)
    await korean.page.getByRole('button', { name: '대기열 참가' }).click()
    await expect.poll(() => korean.page.getByRole('alert').textContent()).toBe('이미 다른 분이 사용한 선예매 코드입니다.')
    await korean.shot('refused-ko')
    await korean.context.close()
  })

  test('when an operator creates a concert with a presale, then generates codes and downloads them, then the API and the CSV agree', async () => {
    const { page, shot, context } = await openBrowser(t, w, 'presale-console', { width: 1280, height: 1200 })
    await page.goto('/admin')
    await page.getByLabel('Admin key').fill(testSecrets.ADMIN_KEY)
    await page.getByRole('button', { name: 'Sign in' }).click()

    const now = t.clock.now()
    const times = { line: localInput(now + 60 * MINUTE), presale: localInput(now + 120 * MINUTE), sale: localInput(now + 180 * MINUTE) }
    const form = page.getByRole('form', { name: 'New concert' })
    await form.getByLabel('Title').fill('Fan Club Presale')
    await form.getByLabel('Performer').fill('The Members')
    await form.getByLabel('Venue').fill('Club Hall')
    await form.getByLabel('Line opens (optional)').fill(times.line)
    await form.getByLabel('Presale opens (optional)', { exact: true }).fill(times.presale)
    await form.getByLabel('Sale opens (optional)', { exact: true }).fill(times.sale)
    await form.getByRole('button', { name: 'Create' }).click()
    await page.getByRole('heading', { name: 'Fan Club Presale' }).waitFor()
    const concert = json(await t.app.inject({ url: '/v1/concerts' })).items.find((c: { title: string }) => c.title === 'Fan Club Presale')
    expect(concert).toMatchObject({
      queueOpensAt: new Date(times.line).toISOString(),
      presaleOpensAt: new Date(times.presale).toISOString(),
      saleOpensAt: new Date(times.sale).toISOString(),
    })

    const presale = page.getByRole('region', { name: 'Presale codes' })
    await presale.getByText('0 codes, 0 used.').waitFor()
    await presale.getByLabel('Number of codes').fill('25')
    await presale.getByLabel('Fans per code').fill('2')
    await presale.getByRole('button', { name: 'Generate codes' }).click()
    await presale.getByText('Made 25 codes.').waitFor()
    await presale.getByText('25 codes, 0 used.').waitFor()
    const shown = await presale.getByRole('list', { name: 'New codes' }).getByRole('listitem').allTextContents()
    expect(shown).toHaveLength(10)
    await presale.getByText('…and 15 more: every code is in the CSV.').waitFor()
    await shot('generated')
    const listed = await codesOf(t, concert.concertId)
    expect(listed).toHaveLength(25)
    expect(listed.every((c: { maxUses: number; uses: number }) => c.maxUses === 2 && c.uses === 0)).toBe(true)
    const apiCodes = listed.map((c: { code: string }) => c.code)
    expect(apiCodes).toEqual(expect.arrayContaining(shown))

    // A date on sale, and a fan who joins with a code at the presale, so the CSV has a use to show.
    const date = await t.app.inject({
      method: 'POST',
      url: `/v1/admin/concerts/${concert.concertId}/schedules`,
      headers: admin,
      payload: {
        startsAt: new Date(now + 30 * 24 * 60 * MINUTE).toISOString(),
        sections: [{ name: 'Floor', rows: 2, seatsPerRow: 10, price: 50_000 }],
      },
    })
    expect(date.statusCode).toBe(201)
    t.clock.advance(120 * MINUTE)
    const fan = await createUser(t)
    const joined = await t.app.inject({
      method: 'POST',
      url: `/v1/concerts/${concert.concertId}/queue`,
      headers: fan.auth,
      payload: { code: shown[0] },
    })
    expect(joined.statusCode).toBe(201)

    const [download] = await Promise.all([page.waitForEvent('download'), presale.getByRole('button', { name: 'Download CSV' }).click()])
    expect(download.suggestedFilename()).toBe(`presale-codes-${concert.concertId}.csv`)
    const csv = readFileSync((await download.path())!, 'utf8')
    const [header, ...rows] = csv.trimEnd().split('\r\n')
    expect(header).toBe('code,maxUses,uses,firstUsedBy,firstUsedAt,createdAt')
    expect(rows.map((r) => r.split(',')[0]).sort()).toEqual([...apiCodes].sort())
    expect(rows.find((r) => r.startsWith(shown[0]!))).toMatch(new RegExp(`^${shown[0]},2,1,${fan.userId},`))
    await shot('downloaded')

    // A presale after its sale is refused in words; an empty one removes it.
    const window = presale.getByRole('form', { name: 'Presale times' })
    await window.getByLabel('Presale opens (optional)', { exact: true }).fill(localInput(now + 240 * MINUTE))
    await window.getByRole('button', { name: 'Save presale' }).click()
    await expect.poll(() => window.getByRole('alert').textContent()).toBe('Not accepted: check presaleOpensAt.')
    await window.getByLabel('Presale opens (optional)', { exact: true }).fill('')
    await window.getByRole('button', { name: 'Save presale' }).click()
    await presale.getByText('No presale: anyone joins. Set when the presale opens to ask for codes until the sale.').waitFor()
    await shot('presale-removed')
    const after = json(await t.app.inject({ url: '/v1/concerts' })).items.find(
      (c: { concertId: string }) => c.concertId === concert.concertId,
    )
    expect(after.presaleOpensAt).toBeNull()
    expect((await joinQueue(t, concert.concertId, (await createUser(t)).auth)).statusCode).toBe(201)
    await context.close()
  })
})
