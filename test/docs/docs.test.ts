import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { readResults, readScale, withResults, withScaleResults } from '../../bench/tables.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const read = (file: string) => readFileSync(join(root, file), 'utf8')
const documents = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]

/** The text outside fenced code blocks, where headings and links live. */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '')

/** The anchors GitHub makes of a document's headings. */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>()
  const anchors = new Set<string>()
  for (const [, heading] of prose(text).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = heading!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    anchors.add(n === 0 ? base : `${base}-${n}`)
  }
  return anchors
}

describe('the documentation', () => {
  it('when a document links to a file or a heading of this repository, then that file and heading exist', () => {
    const broken: string[] = []
    for (const doc of documents) {
      for (const [, target] of prose(read(doc)).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue
        const [path, anchor] = target!.split('#') as [string, string | undefined]
        const file = path === '' ? doc : relative(root, join(root, dirname(doc), path))
        if (!existsSync(join(root, file))) broken.push(`${doc}: ${target} (no file ${file})`)
        else if (anchor && file.endsWith('.md') && !anchorsOf(read(file)).has(anchor)) broken.push(`${doc}: ${target} (no heading)`)
      }
    }
    expect(broken).toEqual([])
  })

  it('when a document names a file or folder under test/, then it exists', () => {
    const named = documents.flatMap((doc) => [...read(doc).matchAll(/(?<![\w.])test\/[\w./-]*\w/g)].map(([path]) => ({ doc, path: path! })))
    expect(named.length).toBeGreaterThan(10)
    expect(named.filter(({ path }) => !existsSync(join(root, path))).map(({ doc, path }) => `${doc}: ${path}`)).toEqual([])
  })

  it('when the configuration table of the README is read, then it names every variable the service reads', () => {
    const schema = read('src/config.ts').match(/const EnvSchema = Type\.Object\(\{([\s\S]*?)\n\}\)/)![1]!
    const variables = [...schema.matchAll(/^ {2}([A-Z_]+):/gm)].map(([, name]) => name!)
    const table = read('README.md').split('## Configuration')[1]!.split('\n## ')[0]!
    const named = new Set(
      [...table.matchAll(/^\| (.+?) \|/gm)].flatMap(([, cell]) => [...cell!.matchAll(/`([A-Z_]+)`/g)].map(([, n]) => n!)),
    )
    expect(variables.length).toBeGreaterThan(30)
    expect(variables.filter((v) => !named.has(v))).toEqual([])
  })

  it('when the benchmark results are rendered, then docs/performance.md already shows exactly them', () => {
    expect(withResults(read('docs/performance.md'), readResults())).toBe(read('docs/performance.md'))
  })

  it('when a benchmark result changes, then the figure in docs/performance.md changes with it', () => {
    const results = readResults()
    const rendered = withResults(read('docs/performance.md'), { ...results, sellout: { ...results.sellout!, purchasesPerSecond: 123_456 } })
    expect(rendered).toContain('| 123456 |')
    expect(read('docs/performance.md')).not.toContain('| 123456 |')
    const idle = results.idle!
    const idler = withResults(read('docs/performance.md'), {
      ...results,
      idle: { ...idle, rows: [{ ...idle.rows[0]!, cpuPercent: 98.7 }] },
    })
    expect(idler).toContain('| 98.7 |')
    expect(read('docs/performance.md')).not.toContain('| 98.7 |')
  })

  it('when the scale model is rendered, then docs/scaling.md already shows exactly bench/results/scale.json', () => {
    expect(withScaleResults(read('docs/scaling.md'), readScale())).toBe(read('docs/scaling.md'))
  })

  it('when a scale figure changes, then docs/scaling.md changes with it', () => {
    const scale = readScale()!
    const rendered = withScaleResults(read('docs/scaling.md'), { ...scale, processes: { ...scale.processes, twoToOne: 9.87 } })
    expect(rendered).toContain('**9.87**')
    expect(read('docs/scaling.md')).not.toContain('**9.87**')
  })

  it('when a marked section is missing from docs/performance.md, then rendering refuses rather than drop its figures', () => {
    expect(() => withResults(read('docs/performance.md').replace('<!-- /bench:spike -->', ''), readResults())).toThrow(/bench:spike/)
  })
})
