import SwaggerParser from '@apidevtools/swagger-parser'
import { describe, expect, it } from 'vitest'
import { sharedTestApp } from './support/app.js'
import { pgliteTarget } from './support/stores.js'

/** The web pages and the files they load: served by the app, but not part of its API. */
const isPageOrFile = (path: string) => path === '/' || /^\/(admin|fan|shared|vendor)(\/|$)/.test(path)

/** `METHOD /path` of every registered API route (HEAD, the documentation's own routes and the pages aside). */
function registeredRoutes(tree: string): string[] {
  const stack: string[] = []
  const routes: string[] = []
  for (const line of tree.split('\n')) {
    const match = /^([│ ├└─]*?)[├└]── (\S+)(?: \(([^)]*)\))?$/.exec(line)
    if (!match) continue
    const depth = match[1]!.length / 4
    stack.length = depth
    stack.push(match[2]!)
    const path = stack.join('').replace(/:(\w+)/g, '{$1}')
    if (path.startsWith('/docs') || path === '/openapi.json' || isPageOrFile(path)) continue
    for (const method of (match[3] ?? '').split(', ')) if (method && method !== 'HEAD') routes.push(`${method} ${path}`)
  }
  return routes
}

describe('OpenAPI document', () => {
  const t = sharedTestApp(pgliteTarget)

  it('when /openapi.json is fetched, then it is a valid OpenAPI document', async () => {
    const res = await t.app.inject('/openapi.json')
    expect(res.statusCode).toBe(200)
    const doc = res.json()
    expect(doc.openapi).toMatch(/^3\.1\./)
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeTruthy()
  })

  it('when routes exist, then every one of them is in the document with its problem responses', async () => {
    const doc = (await t.app.inject('/openapi.json')).json()
    const documented = new Set(
      Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    )
    const registered = registeredRoutes(t.app.printRoutes({ commonPrefix: false }))
    expect(registered).toContain('POST /v1/admin/concerts/{concertId}/schedules')
    for (const route of registered) expect(documented, route).toContain(route)
    const createSchedule = doc.paths['/v1/admin/concerts/{concertId}/schedules'].post
    expect(Object.keys(createSchedule.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '404']))
    expect(createSchedule.security).toEqual([{ adminKey: [] }])
  })

  it('when /docs is opened, then Swagger UI is served', async () => {
    const res = await t.app.inject('/docs/')
    expect(res.statusCode).toBe(200)
    expect(res.body).toContain('swagger')
  })
})
