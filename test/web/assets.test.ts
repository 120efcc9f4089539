import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { describe, expect, test } from 'vitest'
import { sharedTestApp } from '../support/app.js'
import { pgliteTarget } from '../support/stores.js'

/** The fan page's JavaScript budget, gzipped, each file counted as it is served. */
const FAN_JS_BUDGET = 100 * 1024

const importMapOf = (html: string): Record<string, string> =>
  JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(html)![1]!).imports

/** Every module specifier a file imports or re-exports statically, minified or not. */
const specifiers = (source: string) =>
  [...source.matchAll(/(?:^|[;}\s])(?:import|export)\s*(?:[\w$*{}\s,]*?\s*from\s*)?["']([^"']+)["']/g)].map((m) => m[1]!)

describe('the pages and the files they load', () => {
  const t = sharedTestApp(pgliteTarget)
  const get = (url: string) => t.app.inject({ url })

  /** The modules a page loads from `entries`, each resolved as the browser would, with its body. */
  async function moduleGraph(importMap: Record<string, string>, entries: string[]) {
    const found = new Map<string, string>()
    const queue = [...entries]
    while (queue.length > 0) {
      const url = queue.shift()!
      if (found.has(url)) continue
      const res = await get(url)
      expect(res.statusCode, url).toBe(200)
      expect(res.headers['content-type'], url).toMatch(/^(application|text)\/javascript/)
      found.set(url, res.body)
      for (const spec of specifiers(res.body)) queue.push(importMap[spec] ?? new URL(spec, `http://x${url}`).pathname)
    }
    return found
  }

  test.each(['/', '/admin'])(
    'when %s is served, then its policy allows this origin only: no inline code but its import map, no eval, no framing',
    async (url) => {
      const res = await get(url)
      expect(res.statusCode).toBe(200)
      const policy = String(res.headers['content-security-policy'])
      expect(policy).toContain("default-src 'self'")
      expect(policy).toContain("style-src 'self'")
      expect(policy).toContain("frame-ancestors 'none'")
      expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|https?:/)
      expect(res.headers['x-frame-options']).toBe('DENY')

      const html = res.body
      expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i)
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
      expect(scripts.length).toBeGreaterThan(1)
      for (const [, attributes, body] of scripts) {
        if (attributes!.includes('type="importmap"')) {
          expect(policy).toContain(`'sha256-${createHash('sha256').update(body!).digest('base64')}'`)
          for (const target of Object.values(JSON.parse(body!).imports as Record<string, string>)) expect(target).toMatch(/^\/vendor\//)
        } else {
          expect(attributes).toMatch(/\ssrc="\/[^"]+"/)
          expect(body).toBe('')
        }
      }
      for (const [, href] of html.matchAll(/<link [^>]*href="([^"]+)"/g)) expect((await get(href!)).statusCode, href).toBe(200)
    },
  )

  test('when the operator console loads, then every module it imports is served by the app', async () => {
    const html = (await get('/admin')).body
    const modules = await moduleGraph(importMapOf(html), ['/admin/main.js'])
    expect([...modules.keys()]).toEqual(expect.arrayContaining(['/vendor/preact.js', '/vendor/uplot.js', '/admin/chart.js']))
  })

  test('when the fan page loads, then its JavaScript, with the join challenge solver, is served by the app and stays under 100 KB gzipped', async () => {
    const html = (await get('/')).body
    const importMap = importMapOf(html)
    const page = await moduleGraph(importMap, ['/fan/main.js'])
    const worker = await moduleGraph({}, ['/fan/pow-worker.js'])
    expect([...worker.keys()]).toContain('/vendor/altcha/pow.js')

    const gzipped = (files: Map<string, string>) => [...files.values()].reduce((sum, body) => sum + gzipSync(body, { level: 9 }).length, 0)
    const pageBytes = gzipped(page)
    const workerBytes = gzipped(worker)
    console.log(
      `fan page JavaScript, gzipped file by file: ${(pageBytes / 1024).toFixed(1)} KB in ${page.size} files; ` +
        `with the join challenge worker: ${((pageBytes + workerBytes) / 1024).toFixed(1)} KB in ${page.size + worker.size} files`,
    )
    expect(pageBytes + workerBytes).toBeLessThan(FAN_JS_BUDGET)
  })

  test('when an unknown file, a page source or the type checker’s settings are asked for, then the answer is the API’s problem 404', async () => {
    for (const url of [
      '/fan/index.html',
      '/fan/nothing.js',
      '/vendor/nothing.js',
      '/shared/../package.json',
      '/tsconfig.json',
      '/tsconfig.worker.json',
    ]) {
      const res = await get(url)
      expect(res.statusCode, url).toBe(404)
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/)
    }
  })
})
