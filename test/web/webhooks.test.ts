import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { admin, chargeBalance, createUser, json, sharedTestApp, testSecrets } from '../support/app.js'
import { openBrowser, sharedBrowser } from '../support/browser.js'
import { pgliteTarget } from '../support/stores.js'
import { WebhookReceiver } from '../support/webhook-receiver.js'

describe('the webhooks section of the operator console in Chromium', () => {
  // Two attempts a delivery, a second apart: a failing receiver reaches `failed` within the test.
  const t = sharedTestApp(pgliteTarget, { WEBHOOK_RETRY_BASE_MS: '1000', WEBHOOK_RETRY_MAX_MS: '1000', WEBHOOK_MAX_ATTEMPTS: '2' })
  const w = sharedBrowser(t)
  let receiver: WebhookReceiver
  beforeAll(async () => {
    receiver = await WebhookReceiver.start()
  })
  afterAll(() => receiver?.stop())

  const listed = async () => json(await t.app.inject({ url: '/v1/admin/webhooks', headers: admin })).items as any[]
  /** One relay batch, as the loop would run it, and every send it started answered. */
  const relayRound = async () => {
    await t.app.components.events.relay.runOnce()
    await t.app.components.events.relay.settled()
  }
  /** A fan tops up a balance: a `balance.charged` event; its id. */
  const aCharge = async () => {
    const fan = await createUser(t)
    const charged = await chargeBalance(t, fan.auth, 10_000)
    expect(charged.statusCode).toBe(200)
    const events = json(await t.app.inject({ url: '/v1/admin/events?limit=1000', headers: admin })).items
    await relayRound()
    const after = json(await t.app.inject({ url: '/v1/admin/events?limit=1000', headers: admin })).items as any[]
    const charge = after.filter((e) => e.type === 'balance.charged' && e.data.userId === fan.userId)
    expect(charge).toHaveLength(1)
    expect(events.length).toBeLessThan(after.length)
    return charge[0].id as string
  }

  test('when an operator adds an endpoint, then its secret shows once, a charge is delivered, a failing one retried, and it can be removed', async () => {
    const { page, shot, context } = await openBrowser(t, w, 'admin-webhooks', { width: 1280, height: 1200 })
    await page.goto('/admin')
    await page.getByLabel('Admin key').fill(testSecrets.ADMIN_KEY)
    await page.getByRole('button', { name: 'Sign in' }).click()
    const section = page.getByRole('region', { name: 'Webhooks' })
    await section.getByText('No endpoints yet').waitFor()

    // A metadata address is refused in words, and nothing is stored.
    const form = page.getByRole('form', { name: 'New webhook' })
    await form.getByLabel('URL').fill('http://169.254.169.254/latest/meta-data/')
    await form.getByRole('button', { name: 'Add webhook' }).click()
    await expect.poll(() => form.getByRole('alert').textContent()).toMatch(/^That URL is refused: .*link-local, metadata/)
    expect(await listed()).toEqual([])
    await shot('refused')

    // Chosen events: the subscription names exactly those.
    await form.getByLabel('URL').fill(receiver.url('/picked'))
    await form.getByLabel('Chosen events').check()
    await form.getByRole('button', { name: 'Add webhook' }).click()
    await expect.poll(() => form.getByRole('alert').textContent()).toBe('Choose at least one event type.')
    await form.getByLabel('payment.succeeded').check()
    await form.getByLabel('reservation.held').check()
    await form.getByRole('button', { name: 'Add webhook' }).click()
    await expect.poll(async () => (await listed()).map((x) => x.events)).toEqual([['reservation.held', 'payment.succeeded']])
    await page.getByRole('button', { name: 'Done' }).click()

    // Every event, with a description: the secret is shown once, and is the one that signs.
    await form.getByLabel('URL').fill(receiver.url())
    await form.getByLabel('Every event (*)').check()
    await form.getByLabel('Description').fill('accounting')
    await form.getByRole('button', { name: 'Add webhook' }).click()
    const secretBox = section.getByRole('status').filter({ hasText: 'shown only this once' })
    const secret = (await secretBox.locator('.secret-value').textContent())!
    expect(secret).toMatch(/^whsec_/)
    receiver.secret = secret
    const all = (await listed()).find((x) => x.url === receiver.url())
    expect(all).toMatchObject({ events: ['*'], description: 'accounting' })
    const row = section.getByRole('row').filter({ hasText: 'accounting' })
    await row.getByRole('cell', { name: '*' }).waitFor()
    await shot('secret-once')
    await page.getByRole('button', { name: 'Done' }).click()
    await expect.poll(() => page.content()).not.toContain(secret)

    // A charge: its event reaches the receiver, signed with that secret, and shows as delivered.
    await section.getByRole('button', { name: `Deliveries of ${receiver.url()}` }).click()
    const log = page.getByRole('region', { name: `Recent deliveries of ${receiver.url()}` })
    const delivered = await aCharge()
    expect(receiver.accepted).toContain(delivered)
    expect(receiver.forged).toEqual([])
    const deliveredRow = log.getByRole('row').filter({ hasText: delivered })
    await expect.poll(() => deliveredRow.getByRole('cell').nth(2).textContent()).toBe('delivered')
    expect(await deliveredRow.getByRole('cell').nth(0).textContent()).toBe('balance.charged')
    expect(await deliveredRow.getByRole('cell').nth(3).textContent()).toBe('204')
    await shot('delivered')

    // A receiver answering 500: pending, then failed after its last attempt; Retry sends it again.
    receiver.answer = () => ({ status: 500, body: 'down for maintenance' })
    const refused = await aCharge()
    const refusedRow = log.getByRole('row').filter({ hasText: refused })
    await expect.poll(() => refusedRow.getByRole('cell').nth(2).textContent()).toBe('pending')
    expect(await refusedRow.getByRole('cell').nth(3).textContent()).toBe('500')
    t.clock.advance(1000)
    await relayRound()
    await expect.poll(() => refusedRow.getByRole('cell').nth(2).textContent()).toBe('failed')
    expect(await refusedRow.getByRole('cell').nth(1).textContent()).toBe('2')
    expect(await refusedRow.getByRole('cell').nth(5).textContent()).toBe('—')
    await shot('failed')

    receiver.answer = () => ({ status: 204 })
    await refusedRow.getByRole('button', { name: `Retry ${refused}` }).click()
    await log
      .getByRole('status')
      .filter({ hasText: `${refused} is due again.` })
      .waitFor()
    await expect.poll(() => refusedRow.getByRole('cell').nth(2).textContent()).toBe('pending')
    await relayRound()
    await expect.poll(() => refusedRow.getByRole('cell').nth(2).textContent()).toBe('delivered')
    expect(receiver.accepted).toContain(refused)
    await shot('retried')

    // Removing asks first; keeping keeps it, confirming removes it with its log.
    await row.getByRole('button', { name: `Remove ${receiver.url()}` }).click()
    await row.getByRole('button', { name: 'Keep', exact: true }).click()
    expect((await listed()).map((x) => x.url)).toContain(receiver.url())
    await row.getByRole('button', { name: `Remove ${receiver.url()}` }).click()
    await row.getByRole('group').getByText('and its delivery log?').waitFor()
    await shot('confirm-remove')
    await row.getByRole('button', { name: 'Remove', exact: true }).click()
    await expect.poll(async () => (await listed()).map((x) => x.url)).toEqual([receiver.url('/picked')])
    await log.waitFor({ state: 'detached' })

    // The same section in Korean.
    await page.getByRole('button', { name: '한국어' }).click()
    await page.getByRole('region', { name: '웹훅' }).getByRole('form', { name: '새 웹훅' }).waitFor()
    await context.close()
  })
})
