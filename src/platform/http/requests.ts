import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import { API_HEADERS } from './security-headers.js'
import type { App } from './types.js'

/** The longest offset from UTC a timestamp may carry (the world's zones span −12:00 to +14:00). */
const MAX_OFFSET_MINUTES = 14 * 60
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/

/**
 * An RFC 3339 timestamp the database can store and give back: a real date and second (no leap
 * second `:60`), an offset within ±14:00, and a year from 1970 to 9999 once converted to UTC.
 */
function isInstant(text: string): boolean {
  const m = INSTANT.exec(text)
  if (!m) return false
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return false
  if (hour > 23 || minute > 59 || second > 59) return false
  if (m[7] !== undefined) {
    const offsetHours = Number(m[8])
    const offsetMinutes = Number(m[9])
    if (offsetMinutes > 59 || offsetHours * 60 + offsetMinutes > MAX_OFFSET_MINUTES) return false
  }
  const ms = Date.parse(text)
  if (Number.isNaN(ms)) return false
  const utcYear = new Date(ms).getUTCFullYear()
  return utcYear >= 1970 && utcYear <= 9999
}

/**
 * JSON bodies are strict: no type coercion ("100" is not a number) and unknown properties are
 * refused. Query strings and path parameters are text, so there numbers are parsed.
 */
function validatorCompilers() {
  const body = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false, strict: false })
  const text = new Ajv({ coerceTypes: 'array', removeAdditional: false, useDefaults: true, allErrors: false, strict: false })
  for (const ajv of [body, text]) {
    addFormats.default(ajv)
    ajv.addFormat('date-time', { type: 'string', validate: isInstant })
  }
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) => (httpPart === 'body' ? body : text).compile(schema)
}

/** Keys that name an object's prototype: refused, so no body can reach one. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * The first place in a value whose text no database column can hold (a NUL character or a lone
 * UTF-16 surrogate), or whose key is a prototype's name; undefined when all is well.
 */
function badTextAt(value: unknown, path: string): { field: string; why: string } | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return { field: path, why: 'must not contain a NUL character' }
    if (!value.isWellFormed()) return { field: path, why: 'must not contain a lone UTF-16 surrogate' }
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    const child = (value as Record<string, unknown>)[key]
    const at = path ? `${path}.${key}` : key
    if (FORBIDDEN_KEYS.has(key)) return { field: at, why: 'is not allowed' }
    const keyProblem = badTextAt(key, at)
    if (keyProblem) return keyProblem
    const problem = badTextAt(child, at)
    if (problem) return problem
  }
  return undefined
}

function assertText(value: unknown, part: 'body' | 'path' | 'query', path = '') {
  const bad = badTextAt(value, path)
  if (bad) throw new AppError('VALIDATION_FAILED', `${part} field '${bad.field || part}' ${bad.why}`, { field: bad.field || part })
}

/** The JSON body parser: JSON.parse, then every string and key checked (see badTextAt). */
function parseJsonBody(_request: FastifyRequest, text: string, done: (err: Error | null, body?: unknown) => void) {
  if (text.length === 0) return done(new AppError('MALFORMED_REQUEST', 'the body is empty but content-type is application/json'))
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return done(new AppError('MALFORMED_REQUEST', 'the body is not valid JSON'))
  }
  try {
    assertText(body, 'body')
  } catch (err) {
    return done(err as Error)
  }
  done(null, body)
}

/** preValidation hook: path parameters and query strings hold no NUL and no lone surrogate. */
function checkPathAndQuery(request: FastifyRequest, _reply: unknown, done: (err?: Error) => void) {
  try {
    assertText(request.params, 'path')
    assertText(request.query, 'query')
  } catch (err) {
    return done(err as Error)
  }
  done()
}

/** Longest incoming X-Request-Id used as the request's id; a longer or odd one is replaced. */
const MAX_REQUEST_ID = 128
const VISIBLE = /^[\x21-\x7E]+$/

/** The request id: the caller's X-Request-Id when it is at most 128 visible characters, else a fresh one. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && given.length <= MAX_REQUEST_ID && VISIBLE.test(given) ? given : randomUUID()
}

/**
 * How every API request is read: strict JSON bodies, checked paths and queries, the API's
 * security headers and `X-Request-Id` on every answer. `fields` are the request properties hooks
 * set later, declared up front so every request object keeps one shape on the hot paths.
 */
export function installRequestHandling(app: App, fields: Record<string, unknown>) {
  app.setValidatorCompiler(validatorCompilers())
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody)
  app.addHook('preValidation', checkPathAndQuery)
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(API_HEADERS).header('x-request-id', request.id)
    done()
  })
  for (const [name, initial] of Object.entries(fields)) app.decorateRequest(name, initial)
}
