import { mkdirSync } from 'node:fs'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll } from 'vitest'
import { admin, admitTick, chargeBalance, holdSeat, joinQueue, listen, pay, type TestApp, type User } from './app.js'
import { CHROMIUM } from './machine.js'

/** Where the browser tests put a screenshot of each step (gitignored). */
const SCREENSHOTS = new URL('../../.tmp/screenshots/', import.meta.url)

export interface WebTest {
  base: string
  browser: Browser
}

/**
 * The app of the enclosing `describe` listening on a loopback port, and one Chromium for its
 * tests; both closed after them.
 */
export function sharedBrowser(t: TestApp): WebTest {
  const w = {} as WebTest
  beforeAll(async () => {
    w.base = await listen(t.app)
    // Running as root (CI, containers) needs the sandbox off.
    w.browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  })
  afterAll(() => w.browser?.close())
  return w
}

export interface FanBrowser {
  context: BrowserContext
  page: Page
  /** Saves a screenshot of the page as `<suite>/<nn>-<step>.png`. */
  shot(step: string): Promise<void>
}

/**
 * A fresh browser profile (its own localStorage) in `locale`, whose clock starts at the test
 * app's clock, so hold deadlines and opening times read the same on both sides.
 */
export async function openBrowser(
  t: TestApp,
  w: WebTest,
  suite: string,
  options: { locale?: string; timezoneId?: string; width?: number; height?: number } = {},
): Promise<FanBrowser> {
  const context = await w.browser.newContext({
    baseURL: w.base,
    locale: options.locale ?? 'en-US',
    timezoneId: options.timezoneId,
    viewport: { width: options.width ?? 420, height: options.height ?? 900 },
  })
  await context.clock.install({ time: t.clock.now() })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  const folder = new URL(`${suite}/`, SCREENSHOTS)
  mkdirSync(folder, { recursive: true })
  let n = 0
  return {
    context,
    page,
    async shot(step) {
      if (errors.length > 0) throw new Error(`the page threw: ${errors.join('; ')}`)
      n++
      await page.screenshot({ path: new URL(`${String(n).padStart(2, '0')}-${step}.png`, folder).pathname, fullPage: true })
    },
  }
}

/** A concert named `title` with one date 30 days after the app's clock, through the admin API. */
export async function createShow(
  t: TestApp,
  title: string,
  sections: { name: string; rows: number; seatsPerRow: number; price: number }[] = [
    { name: 'Standing', rows: 5, seatsPerRow: 10, price: 88_000 },
  ],
): Promise<{ concertId: string; scheduleId: string }> {
  const concert = await t.app.inject({
    method: 'POST',
    url: '/v1/admin/concerts',
    headers: admin,
    payload: { title, performer: 'The Lanterns', venue: 'Rolling Hall, Seoul' },
  })
  const { concertId } = concert.json() as { concertId: string }
  const schedule = await t.app.inject({
    method: 'POST',
    url: `/v1/admin/concerts/${concertId}/schedules`,
    headers: admin,
    payload: { startsAt: new Date(t.clock.now() + 30 * 24 * 3600 * 1000).toISOString(), sections },
  })
  if (schedule.statusCode !== 201) throw new Error(`schedule: ${schedule.statusCode} ${schedule.body}`)
  return { concertId, scheduleId: (schedule.json() as { scheduleId: string }).scheduleId }
}

/**
 * `user` joins the concert's line, is admitted and holds `seatNo` of the date, through the API: the
 * reservation, its price, and the Bearer and Queue-Token headers it was held with.
 */
export async function heldSeat(
  t: TestApp,
  user: User,
  concertId: string,
  scheduleId: string,
  seatNo: number,
): Promise<{ reservationId: string; price: number; headers: Record<string, string> }> {
  const joined = await joinQueue(t, concertId, user.auth)
  if (joined.statusCode !== 201) throw new Error(`join: ${joined.statusCode} ${joined.body}`)
  await admitTick(t)
  const headers = { ...user.auth, 'queue-token': (joined.json() as { token: string }).token }
  const held = await holdSeat(t, headers, scheduleId, seatNo)
  if (held.statusCode !== 201) throw new Error(`hold: ${held.statusCode} ${held.body}`)
  const { reservationId, price } = held.json() as { reservationId: string; price: number }
  return { reservationId, price, headers }
}

/** As heldSeat, then `user` tops up the seat's price and pays it (the balance is back where it was): the reservation's id. */
export async function paidSeat(t: TestApp, user: User, concertId: string, scheduleId: string, seatNo: number): Promise<string> {
  const { reservationId, price, headers } = await heldSeat(t, user, concertId, scheduleId, seatNo)
  const charged = await chargeBalance(t, user.auth, price)
  if (charged.statusCode !== 200) throw new Error(`charge: ${charged.statusCode} ${charged.body}`)
  const paid = await pay(t, headers, reservationId)
  if (paid.statusCode !== 201) throw new Error(`pay: ${paid.statusCode} ${paid.body}`)
  return reservationId
}

/**
 * As openBrowser, with `user` signed in: the page finds the access token where a deployment's own
 * sign-in leaves it (docs/web.md, "Who the fan is").
 */
export async function openBrowserAs(
  t: TestApp,
  w: WebTest,
  suite: string,
  user: User,
  options: Parameters<typeof openBrowser>[3] = {},
): Promise<FanBrowser> {
  const browser = await openBrowser(t, w, suite, options)
  await browser.context.addInitScript(`localStorage.setItem('stagedoor.accessToken', ${JSON.stringify(user.accessToken)})`)
  return browser
}

/**
 * What the page keeps under `key` in its local or session storage. (Expressions are given as text:
 * the tests are type-checked without the browser's globals.)
 */
export const stored = (page: Page, storage: 'localStorage' | 'sessionStorage', key: string) =>
  page.evaluate<string | null>(`${storage}.getItem(${JSON.stringify(key)})`)

/** The language the page declares on its root element. */
export const pageLanguage = (page: Page) => page.evaluate<string>('document.documentElement.lang')

/** The access token the page keeps for its fan (after its demo sign-up). */
export async function pageAccessToken(page: Page): Promise<string> {
  const token = await stored(page, 'localStorage', 'stagedoor.accessToken')
  if (!token) throw new Error('the page keeps no access token')
  return token
}
