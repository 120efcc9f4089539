import SwaggerParser from '@apidevtools/swagger-parser'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import type { LightMyRequestResponse } from 'fastify'
import { beforeAll, describe, expect, it } from 'vitest'
import { admin, createConcert, fileTestApps, queuedFans } from '../support/app.js'
import { pgliteTarget } from '../support/stores.js'

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

const apps = fileTestApps()

describe('OpenAPI document', () => {
  const t = apps.shared(pgliteTarget)

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

  it("when the two ways of adding money are looked up, then the fan's lists its 403 and the operator's requires its key", async () => {
    const doc = (await t.app.inject('/openapi.json')).json()
    expect(Object.keys(doc.paths['/v1/me/balance/charges'].post.responses)).toContain('403')
    const credit = doc.paths['/v1/admin/users/{userId}/balance/charges'].post
    expect(credit.security).toEqual([{ adminKey: [] }])
    expect(credit.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'idempotency-key', required: true }))
    expect(Object.keys(credit.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404', '409', '422']))
    expect(credit.description).toMatch(/payment provider/)
  })

  it('when /docs is opened, then Swagger UI is served', async () => {
    const res = await t.app.inject('/docs/')
    expect(res.statusCode).toBe(200)
    expect(res.body).toContain('swagger')
  })

  it('when the document names media types, then every error answer is problem+json and every success JSON (metrics and the codes CSV aside)', async () => {
    const doc = (await t.app.inject('/openapi.json')).json()
    const otherMedia: Record<string, string[]> = {
      'GET /metrics': ['text/plain'],
      'GET /v1/admin/concerts/{concertId}/presale-codes': ['application/json', 'text/csv'],
    }
    for (const { name, operation } of operationsOf(doc)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const media = Object.keys(response.content ?? {})
        if (Number(status) >= 400) expect(media, `${name} ${status}`).toEqual(['application/problem+json'])
        else if (status !== '204') expect(media, `${name} ${status}`).toEqual(otherMedia[name] ?? ['application/json'])
      }
    }
  })

  it('when the join is documented, then its body is optional, as a join without one or with null succeeds', async () => {
    const doc = (await t.app.inject('/openapi.json')).json()
    const join = doc.paths['/v1/concerts/{concertId}/queue'].post
    expect(join.requestBody.required).toBe(false)
    expect(join['x-optional-body']).toBeUndefined()
    const { concertId } = await createConcert(t)
    const [fan] = await queuedFans(t, concertId, 1)
    const again = await t.app.inject({
      method: 'POST',
      url: `/v1/concerts/${concertId}/queue`,
      headers: { ...fan!.auth, 'content-type': 'application/json' },
      payload: 'null',
    })
    expect(again.statusCode).toBe(200)
  })

  it('when timestamps and ids are documented, then their limits are schema constraints a client can check', async () => {
    const doc = (await t.app.inject('/openapi.json')).json()
    const schedule = doc.paths['/v1/admin/concerts/{concertId}/schedules'].post
    const startsAt = schedule.requestBody.content['application/json'].schema.properties.startsAt
    expect(startsAt.description).toMatch(/±14:00.*:60.*1970–9999/)
    const pattern = new RegExp(startsAt.pattern, 'u')
    for (const good of ['2031-01-01T10:00:00+14:00', '2031-01-01t10:00:00.123456789z', '2031-12-31T23:59:59-13:59']) {
      expect(pattern.test(good), good).toBe(true)
    }
    for (const bad of [
      '2031-06-30T23:59:60Z',
      '2031-01-01T10:00:00+14:01',
      '2031-13-01T10:00:00Z',
      '2031-01-01T10:00:00',
      '2031-01-01 10:00:00Z',
    ]) {
      expect(pattern.test(bad), bad).toBe(false)
    }
    const id = schedule.parameters.find((p: { name: string }) => p.name === 'concertId').schema
    expect(id.maxLength).toBe(100)
    const text = new RegExp(id.pattern, 'u')
    expect(['con_1', 'a🎤b'].map((s) => text.test(s))).toEqual([true, true])
    expect(['a\u0000b', 'a\ud800b', '\udc00'].map((s) => text.test(s))).toEqual([false, false, false])
    expect(doc.info.description).toMatch(/NUL.*lone UTF-16 surrogate/)
  })
})

interface Operation {
  parameters?: { in: string; name: string; required?: boolean; schema: { maxLength?: number } }[]
  requestBody?: { content: Record<string, { schema: JsonSchema }> }
  security?: Record<string, string[]>[]
  responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }>
}
interface JsonSchema {
  type?: string
  format?: string
  minimum?: number
  minItems?: number
  minProperties?: number
  enum?: unknown[]
  anyOf?: JsonSchema[]
  items?: JsonSchema
  required?: string[]
  properties?: Record<string, JsonSchema>
}

function operationsOf(doc: { paths: Record<string, Record<string, Operation>> }) {
  return Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, method, path, operation })),
  )
}

/** A value the schema accepts: required properties (and optional ones up to minProperties), unknown ids, a date far ahead. */
function sampleOf(schema: JsonSchema): unknown {
  if (schema.enum) return schema.enum[0]
  if (schema.anyOf) return sampleOf(schema.anyOf.find((s) => s.type !== 'null')!)
  switch (schema.type) {
    case 'object': {
      const names = Object.keys(schema.properties ?? {})
      const required = schema.required ?? []
      const chosen = [...required, ...names.filter((n) => !required.includes(n))].slice(
        0,
        Math.max(required.length, schema.minProperties ?? 0),
      )
      return Object.fromEntries(chosen.map((n) => [n, sampleOf(schema.properties![n]!)]))
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sampleOf(schema.items!))
    case 'string':
      return schema.format === 'date-time' ? '2099-01-01T00:00:00Z' : 'unknown'
    case 'integer':
    case 'number':
      return schema.minimum ?? 1
    case 'boolean':
      return false
    default:
      throw new Error(`no sample for ${JSON.stringify(schema)}`)
  }
}

/** An id one past the longest the schemas take. */
const LONG_ID = 'x'.repeat(101)

describe('OpenAPI document against real answers', () => {
  const t = apps.shared(pgliteTarget)
  let doc: { paths: Record<string, Record<string, Operation>> }
  let credentials: Record<string, Record<string, string>>
  const ajv = new Ajv({ strict: false })
  addFormats.default(ajv)

  beforeAll(async () => {
    doc = (await SwaggerParser.dereference((await t.app.inject('/openapi.json')).json())) as unknown as typeof doc
    const { concertId } = await createConcert(t)
    // A fan in line: a validly signed Queue-Token, so gated routes get past 401 to their ids.
    const [fan] = await queuedFans(t, concertId, 1)
    credentials = { bearerAuth: fan!.auth, queueToken: { 'queue-token': fan!.queueToken }, adminKey: admin }
  })

  /** The operation's credentials, and a value for each header it requires (an Idempotency-Key). */
  const headersFor = (operation: Operation) =>
    Object.assign(
      {},
      ...(operation.security ?? []).flatMap((requirement) => Object.keys(requirement).map((scheme) => credentials[scheme])),
      ...(operation.parameters ?? []).filter((p) => p.in === 'header' && p.required).map((p) => ({ [p.name]: `sample-${p.name}` })),
    )

  /** The answer has the documented status, media type and body shape. */
  function expectDocumented(name: string, operation: Operation, status: number, res: LightMyRequestResponse) {
    expect(res.statusCode, `${name}: ${res.body}`).toBe(status)
    const documented = operation.responses[String(status)]
    expect(documented, `${name} documents ${status}`).toBeDefined()
    const mediaType = String(res.headers['content-type']).split(';')[0]
    expect(Object.keys(documented!.content!), `${name} ${status}`).toEqual([mediaType])
    const validate = ajv.compile(documented!.content![mediaType!]!.schema)
    expect(validate(res.json()), `${name} ${status}: ${JSON.stringify(validate.errors)}`).toBe(true)
  }

  /** The URL of an operation with every path parameter set to `id`. */
  const urlOf = (path: string, id: string) => path.replace(/\{\w+\}/g, encodeURIComponent(id))

  it('when an operation documents 401, then an answer without credentials is that problem, an over-long id notwithstanding', async () => {
    const checked = []
    for (const { name, method, path, operation } of operationsOf(doc)) {
      if (!operation.responses['401']) continue
      const res = await t.app.inject({ method: method as 'GET', url: urlOf(path, LONG_ID) })
      expectDocumented(name, operation, 401, res)
      checked.push(name)
    }
    expect(checked).toEqual(expect.arrayContaining(['GET /metrics', 'GET /v1/schedules/{scheduleId}/seats', 'POST /v1/payments']))
  })

  it('when an operation documents 404, then credentials and unknown ids give that problem', async () => {
    const checked = []
    for (const { name, method, path, operation } of operationsOf(doc)) {
      if (!operation.responses['404']) continue
      const body = operation.requestBody && sampleOf(operation.requestBody.content['application/json']!.schema)
      const res = await t.app.inject({
        method: method as 'GET',
        url: urlOf(path, 'unknown'),
        headers: headersFor(operation),
        ...(body === undefined ? {} : { payload: body as object }),
      })
      expectDocumented(name, operation, 404, res)
      checked.push(name)
    }
    expect(checked).toEqual(
      expect.arrayContaining(['POST /v1/reservations', 'POST /v1/payments', 'PATCH /v1/admin/concerts/{concertId}/queue']),
    )
  })

  it('when an operation documents 400, then credentials and an over-long id, a body of the wrong type or an unknown query give that problem', async () => {
    for (const { name, method, path, operation } of operationsOf(doc)) {
      if (!operation.responses['400']) continue
      const hasPathId = operation.parameters?.some((p) => p.in === 'path')
      const hasQuery = operation.parameters?.some((p) => p.in === 'query')
      const headers = headersFor(operation)
      const res = hasPathId
        ? await t.app.inject({ method: method as 'GET', url: urlOf(path, LONG_ID), headers })
        : operation.requestBody
          ? await t.app.inject({
              method: method as 'GET',
              url: path,
              headers: { ...headers, 'content-type': 'application/json' },
              payload: '[]',
            })
          : hasQuery
            ? await t.app.inject({ method: method as 'GET', url: `${path}?unknown=1`, headers })
            : undefined
      expect(res, `${name}: no way to provoke its 400`).toBeDefined()
      expectDocumented(name, operation, 400, res!)
    }
  })

  it('when a path id is longer than 100 characters, then every operation with one documents the 400 that names the parameter', async () => {
    for (const { name, method, path, operation } of operationsOf(doc)) {
      const param = operation.parameters?.find((p) => p.in === 'path')
      if (!param) continue
      expect(param.schema.maxLength, name).toBe(100)
      const res = await t.app.inject({ method: method as 'GET', url: urlOf(path, LONG_ID), headers: headersFor(operation) })
      expectDocumented(name, operation, 400, res)
      expect(res.json(), name).toMatchObject({ code: 'VALIDATION_FAILED', field: param.name })
      expect(res.json().detail, name).toContain(`'${param.name}' must NOT have more than 100 characters`)
    }
  })

  it('when a GET without path ids answers with credentials, then its content type is the documented one', async () => {
    for (const { name, method, path, operation } of operationsOf(doc)) {
      if (method !== 'get' || path.includes('{')) continue
      const res = await t.app.inject({ url: path, headers: headersFor(operation) })
      const documented = operation.responses[String(res.statusCode)]
      expect(res.statusCode, `${name}: ${res.body}`).toBeLessThan(300)
      expect(Object.keys(documented?.content ?? {}), name).toEqual([String(res.headers['content-type']).split(';')[0]])
    }
  })
})
