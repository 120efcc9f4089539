import { readFileSync } from 'node:fs'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { admin, admittedFans, chargeBalance, createConcert, holdSeat, json, pay, queuedFans, sharedTestApp } from '../support/app.js'
import { postgresRedisTarget, storesOf } from '../support/stores.js'

// The operators' dashboard (ops/grafana/stagedoor.json) checked against what the service exports:
// a panel that names a series, a label or a concert filter the scrape does not have draws nothing
// during a sale, when nobody has time to find out why.

interface Panel {
  type: string
  title?: string
  description?: string
  datasource?: { type?: string; uid?: string }
  targets?: { expr?: string; legendFormat?: string; datasource?: { type?: string; uid?: string } }[]
  panels?: Panel[]
}

interface Variable {
  name: string
  type: string
  query?: string | { query?: string }
  definition?: string
  multi?: boolean
  includeAll?: boolean
}

interface Dashboard {
  schemaVersion: number
  panels: Panel[]
  templating: { list: Variable[] }
}

const dashboard = JSON.parse(readFileSync(new URL('../../ops/grafana/stagedoor.json', import.meta.url), 'utf8')) as Dashboard

/** The drawn panels (not rows), those inside collapsed rows too. */
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row')

/** One PromQL expression of the dashboard: a panel target's, or a query variable's. */
interface Expression {
  where: string
  expr: string
  legend?: string
}

const variableQuery = (v: Variable) => (typeof v.query === 'string' ? v.query : (v.query?.query ?? v.definition ?? ''))

const expressions: Expression[] = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr ?? '', legend: t.legendFormat }))),
  ...dashboard.templating.list.filter((v) => v.type === 'query').map((v) => ({ where: `variable $${v.name}`, expr: variableQuery(v) })),
]

/** Labels Prometheus attaches to every scraped series itself: never in the service's text. */
const targetLabels = new Set(['instance', 'job'])

const metricNames = (expr: string) => [...expr.matchAll(/\bstagedoor_[a-zA-Z0-9_:]*/g)].map((m) => m[0])

/** Each `name{matchers}` of an expression (or a bare `name`), with the labels its matchers name. */
const selectors = (expr: string) =>
  [...expr.matchAll(/\b(stagedoor_[a-zA-Z0-9_:]*)(?:\{([^}]*)\})?/g)].map((m) => ({
    name: m[1]!,
    matchers: [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map((l) => ({
      label: l[1]!,
      op: l[2]!,
      value: l[3]!,
    })),
  }))

/** The series an expression narrows to concerts: by a `concert` matcher, or as the source of `label_values(series, concert)`. */
const concertSeries = (expr: string) => [
  ...selectors(expr)
    .filter((s) => s.matchers.some((m) => m.label === 'concert'))
    .map((s) => s.name),
  ...[...expr.matchAll(/\blabel_values\(\s*(stagedoor_[a-zA-Z0-9_:]*)[^,]*,\s*concert\s*\)/g)].map((m) => m[1]!),
]

/** Labels of `by (…)` and `without (…)` clauses, `label_values(series, label)`, and the legend's `{{label}}`. */
const otherLabels = (e: Expression) => [
  ...[...e.expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean),
  ),
  ...[...e.expr.matchAll(/\blabel_values\(\s*[^,]+,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)/g)].map((m) => m[1]!),
  ...[...(e.legend ?? '').matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)].map((m) => m[1]!),
]

/** The Prometheus text format, as far as the checks need it: family types and every sample's name and labels. */
interface Scrape {
  types: Map<string, string>
  samples: { name: string; labels: Record<string, string> }[]
}

function parseScrape(text: string): Scrape {
  const types = new Map<string, string>()
  const samples: Scrape['samples'] = []
  for (const line of text.split('\n')) {
    const type = line.match(/^# TYPE (\S+) (\S+)$/)
    if (type) types.set(type[1]!, type[2]!)
    if (line.startsWith('#') || line.trim() === '') continue
    const sample = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+\S+/)
    if (!sample) throw new Error(`unparsed line of /metrics: ${line}`)
    const labels = Object.fromEntries(
      [...(sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]),
    )
    samples.push({ name: sample[1]!, labels })
  }
  return { types, samples }
}

/**
 * Whether `name` is a series the scrape exports: a sample of that name, or a declared family that
 * has not been observed yet. A `_bucket`/`_sum`/`_count` name counts only as a series of a
 * histogram family, and a histogram's bare family name is no series at all.
 */
function exports(scrape: Scrape, name: string): boolean {
  const part = name.match(/^(.*)_(bucket|sum|count)$/)
  if (part && scrape.types.get(part[1]!) === 'histogram') return true
  if (scrape.samples.some((s) => s.name === name)) return true
  const type = scrape.types.get(name)
  return type !== undefined && type !== 'histogram' && type !== 'summary'
}

const carries = (scrape: Scrape, name: string, label: string) => scrape.samples.some((s) => s.name === name && label in s.labels)

describe('the Grafana dashboard', () => {
  it('has a title and a description on every panel, and every target asks the $datasource', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39)
    expect(panels.length).toBeGreaterThan(10)
    for (const p of panels) {
      expect(p.title, JSON.stringify(p)).toBeTruthy()
      expect(p.description, `panel "${p.title}" has no description`).toBeTruthy()
      expect(p.targets?.length, `panel "${p.title}" has no query`).toBeGreaterThan(0)
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal
      for (const t of p.targets ?? []) expect(t.datasource?.uid, `panel "${p.title}"`).toBe('${datasource}')
    }
  })

  it('has a prometheus $datasource and a multi-select $concert with All from the queue gauge', () => {
    const byName = new Map(dashboard.templating.list.map((v) => [v.name, v]))
    expect(byName.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' })
    const concert = byName.get('concert')!
    expect(concert).toMatchObject({ type: 'query', multi: true, includeAll: true })
    expect(variableQuery(concert)).toBe('label_values(stagedoor_queue_waiting, concert)')
  })

  it('takes every rate over $__rate_interval and filters every concert series by $concert', () => {
    for (const { where, expr } of expressions) {
      for (const range of expr.matchAll(/\b(?:rate|irate|increase)\([^[]*\[([^\]]*)\]/g))
        expect(range[1], `${where}: ${expr}`).toBe('$__rate_interval')
      for (const s of selectors(expr).filter((s) => s.matchers.some((m) => m.label === 'concert'))) {
        expect(s.matchers, `${where}: ${expr}`).toContainEqual({ label: 'concert', op: '=~', value: '$concert' })
      }
    }
  })
})

describe.each(storesOf(postgresRedisTarget))('the Grafana dashboard against /metrics on $name', (target) => {
  const t = sharedTestApp(target)

  it('names only series and labels that a sale makes the service export, and its concert filters find the concert', async () => {
    // A sale in small: a concert, a fan admitted and one still waiting, a seat held, a second try
    // refused, a payment; and one failed database statement, so the error counter has a series.
    const { concertId, scheduleId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    await queuedFans(t, concertId, 1)
    await chargeBalance(t, fan!.auth, 100_000)
    const held = json(await holdSeat(t, fan!.headers, scheduleId, 1))
    expect((await holdSeat(t, fan!.headers, scheduleId, 1)).statusCode).toBe(409)
    expect((await pay(t, fan!.headers, held.reservationId)).statusCode).toBe(201)
    await expect(sql`select * from no_such_table`.execute(t.app.components.database.db)).rejects.toThrow()

    const res = await t.app.inject({ url: '/metrics', headers: admin })
    expect(res.statusCode).toBe(200)
    const scrape = parseScrape(res.body)

    // The check itself tells exported series from made-up ones.
    expect(exports(scrape, 'stagedoor_http_request_duration_seconds_bucket')).toBe(true)
    expect(exports(scrape, 'stagedoor_http_request_duration_seconds')).toBe(false)
    expect(exports(scrape, 'stagedoor_queue_waiting_bucket')).toBe(false)
    expect(exports(scrape, 'stagedoor_no_such_series')).toBe(false)

    const names = new Set(expressions.flatMap((e) => metricNames(e.expr)))
    expect(names.size).toBeGreaterThan(10)
    const unexported = [...names].filter((name) => !exports(scrape, name))
    expect(unexported, `series the service does not export: ${unexported.join(', ')}`).toEqual([])

    // Every series the dashboard narrows to concerts, and the $concert variable's source, has this sale's concert.
    const byConcert = new Set(expressions.flatMap((e) => concertSeries(e.expr)))
    expect(byConcert).toContain('stagedoor_queue_waiting')
    const withoutConcert = [...byConcert].filter((name) => !scrape.samples.some((s) => s.name === name && s.labels.concert === concertId))
    expect(withoutConcert, `no series {concert="${concertId}"} of: ${withoutConcert.join(', ')}`).toEqual([])

    for (const e of expressions) {
      const inExpr = selectors(e.expr)
      for (const s of inExpr) {
        expect(
          scrape.samples.some((sample) => sample.name === s.name),
          `${e.where}: no sample of ${s.name}`,
        ).toBe(true)
        for (const { label, op, value } of s.matchers) {
          expect(carries(scrape, s.name, label), `${e.where}: ${s.name} has no label ${label}`).toBe(true)
          // A fixed value (dependency="redis") must be one the service writes.
          if (op === '=') {
            const found = scrape.samples.some((sample) => sample.name === s.name && sample.labels[label] === value)
            expect(found, `${e.where}: no ${s.name}{${label}="${value}"}`).toBe(true)
          }
        }
      }
      for (const label of otherLabels(e).filter((l) => !targetLabels.has(l))) {
        expect(
          inExpr.some((s) => carries(scrape, s.name, label)),
          `${e.where}: no series of ${e.expr} has the label ${label}`,
        ).toBe(true)
      }
    }
  })
})
