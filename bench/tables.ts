/**
 * The benchmarks' figures as Markdown, from the results they write to bench/results/*.json: one
 * renderer per benchmark, used for what a run prints and for docs/performance.md, whose figures
 * are these tables between marker comments (`<!-- bench:latest -->` … `<!-- /bench:latest -->`),
 * never typed by hand. A benchmark that writes its results renews the document; so does
 * `npm run bench:report`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { Row } from './lib.js'

/** What every result file starts with (`writeSummary`, `writeResults`). */
interface Run {
  at: string
  machine: string
}

interface ScenarioResults extends Run {
  durationS: number
  connections: number
  rows: Row[]
  checks?: Record<string, DeploymentChecks>
}

interface DeploymentChecks {
  waitingUsers?: number
  serverRssMiB?: { before: number; afterJoinsAndPolls: number }
  saleSeconds?: number
  sale?: { fans: number; oversold: number | string; payments?: number; unbalanced?: number }
}

interface SelloutFigures {
  seats: number
  processes: number
  queueStore: string
  wallSeconds: number
  purchasesPerSecond: number
  holdP50Ms: number
  holdP99Ms: number
  payP50Ms: number
  payP99Ms: number
  oversold: number
  balancesEqualLedger: boolean
  chargesEqualBalancesPlusPayments: boolean
}

interface SpikeFigures {
  store: string
  fans: number
  joinWindowS: number
  joinsPerS: number
  joinP50Ms: number
  joinP99Ms: number
  polls: number
  pollsPerFan: number
  pollP50Ms: number
  pollP99Ms: number
  configuredAdmitPerS: number
  admittedPerS: number
  errors: number
}

interface MemoryFigures {
  store: string
  users: number
  steps: { waiting: number; heapMiB: number }[]
}

interface ChallengeFigures {
  challenges: number
  maxCounter: number
  createP50Ms: number
  createP95Ms: number
  solveP50Ms: number
  solveP95Ms: number
  verifyP50Ms: number
  verifyP95Ms: number
  failed: number
}

interface EventsFigures {
  fans: number
  rounds: number
  connections: number
  variants: {
    variant: string
    paymentsPerS: number
    spread: [number, number]
    rounds: number[]
    p50: number
    p99: number
    errors: number
    cpuUs: number
    dbCpuUs: number | undefined
    ratio: number
    ratioSpread: [number, number]
    cpuRatio: number
    drainS: number
    paymentEvents: number
  }[]
  outboxCost: number
  outboxCpuCost: number
  webhookCost: number
  webhookCpuCost: number
  relay: { events: number; seconds: number; perSecond: number }
}

/** One store's idle figures (bench/idle.ts); null where the store has no Redis, or the fan was not admitted in time. */
export interface IdleRow {
  store: string
  concerts: number
  idleS: number
  cpuPercent: number
  redisCommandsPerS: number | null
  redisCpuPercent: number | null
  healthMaxMs: number
  eventLoopDelayMaxMs: number
  admittedAfterMs: number | null
  /** Answers of 5xx (503 OVERLOADED) to the fan's join and polls. */
  refusals: number
}

interface IdleFigures {
  rows: IdleRow[]
}

const ratio = (x: number | undefined) => (x === undefined ? '' : x.toFixed(2))
const thousands = (x: number) => x.toLocaleString('en')

/** The scenarios of `npm run bench`; the bytes column only when the run measured it. */
export function scenarioTable(rows: Row[]): string {
  const bytes = rows.some((r) => r.bytes !== undefined)
  const columns: [string, boolean, (r: Row) => string | number][] = [
    ['scenario', false, (r) => r.scenario],
    ['store', false, (r) => r.store],
    ['req/s', true, (r) => r.rps],
    ['p50 ms', true, (r) => r.p50],
    ['p99 ms', true, (r) => r.p99],
    ['errors', true, (r) => r.errors],
    ...(bytes ? [['bytes/answer', true, (r: Row) => r.bytes ?? ''] as [string, boolean, (r: Row) => string | number]] : []),
    ['server CPU µs/req', true, (r) => r.cpuUs ?? ''],
    ['ratio to ceiling', true, (r) => ratio(r.ratio)],
    ['ratio to floor', true, (r) => ratio(r.floorRatio)],
  ]
  return [
    `| ${columns.map(([name]) => name).join(' | ')} |`,
    `|${columns.map(([, right]) => (right ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${columns.map(([, , cell]) => cell(r)).join(' | ')} |`),
  ].join('\n')
}

/** What each deployment's run left behind: the line it measured, the memory, the sale's checks. */
export function checksTable(checks: Record<string, DeploymentChecks>): string {
  const lines = [
    '| store | waiting users | server RSS before → after joins and polls | sale (holds and payments) | fans | oversold | payments | balances ≠ ledger |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const [store, c] of Object.entries(checks)) {
    const rss = c.serverRssMiB ? `${c.serverRssMiB.before} → ${c.serverRssMiB.afterJoinsAndPolls} MiB` : ''
    const sale = c.sale
    lines.push(
      `| ${store} | ${c.waitingUsers === undefined ? '' : thousands(c.waitingUsers)} | ${rss} | ${c.saleSeconds === undefined ? '' : `${c.saleSeconds} s`} | ${sale ? thousands(sale.fans) : ''} | ${sale?.oversold ?? ''} | ${sale?.payments === undefined ? '' : thousands(sale.payments)} | ${sale?.unbalanced ?? ''} |`,
    )
  }
  return lines.join('\n')
}

/** The hot paths against their floors, and the two queue stores' joins, in one sentence per store. */
export function scenarioSummary(rows: Row[]): string {
  const row = (scenario: string, store: string) => rows.find((r) => r.scenario === scenario && r.store === store)
  const floors = rows.filter((r) => r.scenario.startsWith('floor:')).map((r) => r.ratio ?? 0)
  const lines: string[] = []
  for (const store of [...new Set(rows.map((r) => r.store))].filter((s) => s !== '—' && s !== 'redis')) {
    const poll = row('status poll', store)
    const map = row('gated seat map (50 seats, cached)', store)
    const join = row('queue join', store)
    if (!poll || !map || !join) continue
    lines.push(
      `- ${store}: the status poll at ${ratio(poll.floorRatio)} and the gated seat map at ${ratio(map.floorRatio)} of the read floor, the join at ${ratio(join.floorRatio)} of the write floor.`,
    )
  }
  if (floors.length > 0) {
    lines.push(`- The floors themselves ran at ${Math.min(...floors).toFixed(2)}–${Math.max(...floors).toFixed(2)} of the bare route.`)
  }
  const redisJoin = row('queue join', 'postgres+redis')
  const dbJoin = row('queue join', 'postgres')
  if (redisJoin && dbJoin) {
    lines.push(`- Joins on the Redis store ran at ${(redisJoin.rps / dbJoin.rps).toFixed(1)} times the rate of the database store's.`)
  }
  return lines.join('\n')
}

export function selloutTable(r: SelloutFigures): string {
  return [
    '| seats | processes | queue | wall time | purchases/s | hold p50 / p99 | payment p50 / p99 | oversold | balances = ledger |',
    '|---:|---:|---|---:|---:|---:|---:|---:|---|',
    `| ${r.seats} | ${r.processes} | ${r.queueStore} | ${r.wallSeconds} s | ${r.purchasesPerSecond} | ${r.holdP50Ms} / ${r.holdP99Ms} ms | ${r.payP50Ms} / ${r.payP99Ms} ms | ${r.oversold} | ${r.balancesEqualLedger && r.chargesEqualBalancesPlusPayments ? 'yes' : 'NO'} |`,
  ].join('\n')
}

export function spikeTable(r: SpikeFigures): string {
  return [
    '| store | fans | joins/s | join p50 | join p99 | polls (per fan) | poll p50 | poll p99 | admitted/s (configured) | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${r.store} | ${r.fans} | ${r.joinsPerS} | ${r.joinP50Ms} ms | ${r.joinP99Ms} ms | ${r.polls} (${r.pollsPerFan}) | ${r.pollP50Ms} ms | ${r.pollP99Ms} ms | ${r.admittedPerS} (${r.configuredAdmitPerS}) | ${r.errors} |`,
  ].join('\n')
}

export function memoryTable(r: MemoryFigures): string {
  return [
    '| queue store | waiting users | heap after GC |',
    '|---|---:|---:|',
    ...r.steps.map((s) => `| ${r.store} | ${thousands(s.waiting)} | ${s.heapMiB} MiB |`),
  ].join('\n')
}

export function challengeTable(r: ChallengeFigures): string {
  const ms = (x: number) => `${x < 1 ? x.toFixed(2) : x.toFixed(0)} ms`
  return [
    '| step | p50 | p95 |',
    '|---|---:|---:|',
    `| create (server) | ${ms(r.createP50Ms)} | ${ms(r.createP95Ms)} |`,
    `| solve (Node, SHA-256) | ${ms(r.solveP50Ms)} | ${ms(r.solveP95Ms)} |`,
    `| verify, with the single-use claim (server) | ${ms(r.verifyP50Ms)} | ${ms(r.verifyP95Ms)} |`,
  ].join('\n')
}

/** Payments with and without the outbox, and the relay's rate (bench/events.ts). */
export function eventsTable(r: EventsFigures): string {
  const percent = (x: number) => `${(x * 100).toFixed(1)} %`
  const cpu = (v: EventsFigures['variants'][number]) =>
    v.dbCpuUs === undefined ? `${v.cpuUs} + ?` : `${v.cpuUs} + ${v.dbCpuUs} = ${v.cpuUs + v.dbCpuUs}`
  const [outbox, webhook] = [r.variants[1]!, r.variants[2]!]
  const costs = (v: EventsFigures['variants'][number]) => `${percent(1 - v.ratioSpread[1])} to ${percent(1 - v.ratioSpread[0])}`
  return [
    '| payments on PostgreSQL | payments/s (median) | rounds, lowest – highest | p50 / p99 ms | CPU µs/payment: service + database | throughput to no outbox | CPU to no outbox | outbox drained after a turn | payment events | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.variants.map(
      (v) =>
        `| ${v.variant} | ${v.paymentsPerS} | ${v.spread[0]} – ${v.spread[1]} | ${v.p50} / ${v.p99} | ${cpu(v)} | ${ratio(v.ratio)} | ${ratio(v.cpuRatio)} | ${v.drainS} s | ${thousands(v.paymentEvents)} | ${v.errors} |`,
    ),
    '',
    `Medians of ${r.rounds} rounds; each variant's turn is compared with the no-outbox turn of the same round. The outbox cost a payment ${percent(r.outboxCost)} of its throughput (one round to another: ${costs(outbox)}) and ${percent(r.outboxCpuCost)} of its CPU, service and database together (target: at most 15 %). Delivering every event to a webhook as well cost ${percent(r.webhookCost)} of the throughput (${costs(webhook)}) and ${percent(r.webhookCpuCost)} of the CPU. The relay delivered a backlog of ${thousands(r.relay.events)} events to the local receiver in ${r.relay.seconds} s: **${thousands(r.relay.perSecond)} events/s** to one endpoint.`,
  ].join('\n')
}

interface CancelFigures {
  rows: {
    store: string
    seats: number
    refundedS: number
    refundsPerS: number
    cancelledS: number
    processCpuS: number
    /** Progress reads the process refused while it refunded (503). */
    refusals?: number
    refundEntries: number
    wrongBalances: number
    seatsNotFree: number
    unbalanced: number
  }[]
}

/** A sold-out date cancelled, refunds until CANCELLED (bench/cancel.ts). */
export function cancelTable(r: CancelFigures): string {
  return [
    '| store | seats paid | all refunded after | refunds/s | CANCELLED after | process CPU | progress reads refused | refund entries | balances not in full | seats not free | balances ≠ ledger |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.rows.map(
      (x) =>
        `| ${x.store} | ${thousands(x.seats)} | ${x.refundedS} s | ${thousands(x.refundsPerS)} | ${x.cancelledS} s | ${x.processCpuS} s | ${x.refusals ?? ''} | ${thousands(x.refundEntries)} | ${x.wrongBalances} | ${x.seatsNotFree} | ${x.unbalanced} |`,
    ),
  ].join('\n')
}

/** What idle concerts cost per store (bench/idle.ts); a dash where the store has no Redis. */
export function idleTable(r: IdleFigures): string {
  const orDash = (x: number | null) => x ?? '—'
  return [
    '| store | concerts | idle s | app CPU % | Redis commands/s | Redis CPU % | slowest /health ms | longest event-loop delay ms | a fan joins: admitted after | refused (5xx) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.rows.map(
      (s) =>
        `| ${s.store} | ${thousands(s.concerts)} | ${s.idleS} | ${s.cpuPercent} | ${orDash(s.redisCommandsPerS)} | ${orDash(s.redisCpuPercent)} | ${s.healthMaxMs} | ${s.eventLoopDelayMaxMs} | ${s.admittedAfterMs === null ? 'not in time' : `${s.admittedAfterMs} ms`} | ${s.refusals} |`,
    ),
  ].join('\n')
}

const RESULTS = new URL('./results/', import.meta.url)
const PERFORMANCE_DOC = new URL('../docs/performance.md', import.meta.url)

/** The last result of each benchmark, as bench/results/ holds them (a benchmark never run is absent). */
interface Results {
  latest?: ScenarioResults
  sellout?: Run & SelloutFigures
  spike?: Run & SpikeFigures
  memory?: Run & MemoryFigures
  challenge?: Run & ChallengeFigures
  events?: Run & EventsFigures
  cancel?: Run & CancelFigures
  idle?: Run & IdleFigures
}

export function readResults(dir: URL = RESULTS): Results {
  const read = (name: string) => {
    const file = new URL(`${name}.json`, dir)
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined
  }
  return {
    latest: read('latest'),
    sellout: read('sellout'),
    spike: read('spike'),
    memory: read('memory'),
    challenge: read('challenge'),
    events: read('events'),
    cancel: read('cancel'),
    idle: read('idle'),
  }
}

const ranOn = (r: Run, more = '') => `Run at ${r.at.replace(/\.\d+Z$/, 'Z')} on ${r.machine}${more}.`

/** Each marked section of the document: the run it comes from, then its figures. */
function sections(results: Results): Record<keyof Results, string> {
  const { latest, sellout, spike, memory, challenge, events, cancel, idle } = results
  const none = (command: string) => `No results yet: \`${command}\` writes them.`
  return {
    latest: latest
      ? [
          ranOn(latest, `; ${latest.durationS} s per scenario, ${latest.connections} connections`),
          '',
          scenarioTable(latest.rows),
          '',
          scenarioSummary(latest.rows),
          ...(latest.checks
            ? ['', 'What each deployment left behind, read from its database afterwards:', '', checksTable(latest.checks)]
            : []),
        ].join('\n')
      : none('npm run bench'),
    sellout: sellout ? [ranOn(sellout), '', selloutTable(sellout)].join('\n') : none('npm run bench:sellout'),
    spike: spike ? [ranOn(spike), '', spikeTable(spike)].join('\n') : none('npm run bench:spike'),
    memory: memory
      ? [ranOn(memory, `; ${thousands(memory.users)} users joined`), '', memoryTable(memory)].join('\n')
      : none('npm run bench:memory'),
    challenge: challenge
      ? [
          ranOn(
            challenge,
            `; ${challenge.challenges} challenges, counters drawn from 0 to ${thousands(challenge.maxCounter)}, ${challenge.failed} failed`,
          ),
          '',
          challengeTable(challenge),
        ].join('\n')
      : none('npm run bench:challenge'),
    events: events
      ? [
          ranOn(events, `; ${thousands(events.fans)} payments per variant in ${events.rounds} rounds, ${events.connections} in flight`),
          '',
          eventsTable(events),
        ].join('\n')
      : none('npm run bench:events'),
    cancel: cancel ? [ranOn(cancel), '', cancelTable(cancel)].join('\n') : none('npm run bench:cancel'),
    idle: idle ? [ranOn(idle), '', idleTable(idle)].join('\n') : none('npm run bench:idle'),
  }
}

/** The document with every marked section rendered from `results`; a missing marker is an error. */
export function withResults(doc: string, results: Results): string {
  let out = doc
  for (const [name, body] of Object.entries(sections(results))) {
    const open = `<!-- bench:${name} -->`
    const close = `<!-- /bench:${name} -->`
    const start = out.indexOf(open)
    const end = out.indexOf(close)
    if (start < 0 || end < start) throw new Error(`docs/performance.md has no ${open} … ${close} section`)
    out = `${out.slice(0, start + open.length)}\n${body}\n${out.slice(end)}`
  }
  return out
}

/** Renders bench/results/ into docs/performance.md; whether the document changed. */
export function updatePerformanceDoc(): boolean {
  const doc = readFileSync(PERFORMANCE_DOC, 'utf8')
  const updated = withResults(doc, readResults())
  if (updated !== doc) writeFileSync(PERFORMANCE_DOC, updated)
  return updated !== doc
}
