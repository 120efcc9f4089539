/**
 * The benchmarks' figures as Markdown, from the results they write to bench/results/*.json: one
 * renderer per benchmark, used for what a run prints and for docs/performance.md, whose figures
 * are these tables between marker comments (`<!-- bench:latest -->` … `<!-- /bench:latest -->`),
 * never typed by hand. A benchmark that writes its results renews the document; so does
 * `npm run bench:report`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { Row } from './lib.js'
import type { Plan, PollFigures, ProcessFigures, ScaleFigures, ShardFigures, VisitFigures } from './scale-model.js'

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
  /** Service processes sharing the load (runs before it was counted had one). */
  processes?: number
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

/** The hot paths against their floors (holds and payments on PostgreSQL against the database floor), and the two queue stores' joins, in one sentence per store. */
export function scenarioSummary(rows: Row[]): string {
  const row = (scenario: string, store: string) => rows.find((r) => r.scenario === scenario && r.store === store)
  const floors = rows.filter((r) => r.scenario.startsWith('floor:')).map((r) => r.ratio ?? 0)
  const lines: string[] = []
  for (const store of [...new Set(rows.map((r) => r.store))].filter((s) => s !== '—' && s !== 'redis')) {
    const poll = row('status poll', store)
    const map = row('gated seat map (50 seats, cached)', store)
    const join = row('queue join', store)
    const hold = row('hold', store)
    const payment = row('payment', store)
    const parts: string[] = []
    if (poll && map && join) {
      parts.push(
        `the status poll at ${ratio(poll.floorRatio)} and the gated seat map at ${ratio(map.floorRatio)} of the read floor, the join at ${ratio(join.floorRatio)} of the write floor`,
      )
    }
    if (hold?.floorRatio !== undefined && payment?.floorRatio !== undefined) {
      parts.push(`the hold at ${ratio(hold.floorRatio)} and the payment at ${ratio(payment.floorRatio)} of the database floor`)
    }
    if (parts.length > 0) lines.push(`- ${store}: ${parts.join('; ')}.`)
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
    '| store | processes | fans | joins/s | join p50 | join p99 | polls (per fan) | poll p50 | poll p99 | admitted/s (configured) | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${r.store} | ${r.processes ?? 1} | ${r.fans} | ${r.joinsPerS} | ${r.joinP50Ms} ms | ${r.joinP99Ms} ms | ${r.polls} (${r.pollsPerFan}) | ${r.pollP50Ms} ms | ${r.pollP99Ms} ms | ${r.admittedPerS} (${r.configuredAdmitPerS}) | ${r.errors} |`,
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

/** One sale of bench:adaptive: a fixed rate or adaptive admission. */
export interface AdaptiveVariant {
  variant: string
  /** Fixed: the rate set; adaptive: null (it chose its own). */
  admitPerS: number | null
  soldOutS: number | null
  sold: number
  admittedPerS: number
  holdP50Ms: number
  holdP90Ms: number
  holdP99Ms: number
  payP99Ms: number
  errors: number
  refusals: number
  /** Adaptive only: the mean rate over the second half of its sale. */
  meanRateSecondHalf?: number
}

interface AdaptiveFigures {
  fans: number
  seats: number
  delayMs: number
  poolSize: number
  targetMs: number
  minPerTick: number
  maxPerTick: number
  /** The rate adaptive admission started from (runs before it was recorded: not given). */
  startPerTick?: number
  capacity: { purchasesPerS: number; holdP50Ms: number; payP50Ms: number }
  calibrationS: number
  calibrationInFlight: number
  variants: AdaptiveVariant[]
  bestFixedS: number | null
  adaptiveToBestFixed: number | null
}

/** Fixed admission rates against adaptive admission, on a database of known capacity (bench/adaptive.ts). */
export function adaptiveTable(r: AdaptiveFigures): string {
  const c = r.capacity.purchasesPerS
  const rate = (v: AdaptiveFigures['variants'][number]) =>
    v.admitPerS === null
      ? `adaptive, ${r.minPerTick}–${thousands(r.maxPerTick)}${r.startPerTick === undefined ? '' : ` from ${thousands(r.startPerTick)}`}, target ${r.targetMs} ms`
      : `fixed ${thousands(v.admitPerS)}/s (${(v.admitPerS / c).toFixed(1)} × capacity)`
  const soldOut = (v: AdaptiveFigures['variants'][number]) =>
    v.soldOutS === null ? `not sold out (${thousands(v.sold)} sold)` : `${v.soldOutS} s`
  const adaptive = r.variants.find((v) => v.admitPerS === null)
  return [
    '| admission | time to sell out | hold p50 / p90 / p99 | payment p99 | errors (5xx, no answer) | refused (409, 429) or told sold out | admitted/s |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...r.variants.map(
      (v) =>
        `| ${rate(v)} | ${soldOut(v)} | ${v.holdP50Ms} / ${v.holdP90Ms} / ${v.holdP99Ms} ms | ${v.payP99Ms} ms | ${thousands(v.errors)} | ${thousands(v.refusals)} | ${thousands(v.admittedPerS)} |`,
    ),
    '',
    `${thousands(r.fans)} fans for ${thousands(r.seats)} seats a variant; PostgreSQL ${r.delayMs} ms further away a round trip, through a pool of ${r.poolSize} connections. Its capacity, measured first in the same run (${r.calibrationInFlight} admitted fans holding and paying back to back for ${r.calibrationS} s): **${thousands(c)} purchases/s** (hold p50 ${r.capacity.holdP50Ms} ms, payment p50 ${r.capacity.payP50Ms} ms).${
      adaptive && r.adaptiveToBestFixed !== null
        ? ` Adaptive admission sold out in ${r.adaptiveToBestFixed.toFixed(2)} × the time of the best fixed rate${adaptive.meanRateSecondHalf === undefined ? '' : `, admitting ${thousands(adaptive.meanRateSecondHalf)} a second on average over the second half of its sale`}.`
        : ''
    }`,
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
  adaptive?: Run & AdaptiveFigures
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
    adaptive: read('adaptive'),
  }
}

const ranOn = (r: Run, more = '') => `Run at ${r.at.replace(/\.\d+Z$/, 'Z')} on ${r.machine}${more}.`

/** Each marked section of the document: the run it comes from, then its figures. */
function sections(results: Results): Record<keyof Results, string> {
  const { latest, sellout, spike, memory, challenge, events, cancel, idle, adaptive } = results
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
    adaptive: adaptive ? [ranOn(adaptive), '', adaptiveTable(adaptive)].join('\n') : none('npm run bench:adaptive'),
  }
}

/** The document with every marked section rendered from `results`; a missing marker is an error. */
export function withResults(doc: string, results: Results): string {
  return withSections(doc, 'docs/performance.md', sections(results))
}

/** `doc` (named `file` in errors) with the text between each section's markers replaced by its body. */
function withSections(doc: string, file: string, bodies: Record<string, string>): string {
  let out = doc
  for (const [name, body] of Object.entries(bodies)) {
    const open = `<!-- bench:${name} -->`
    const close = `<!-- /bench:${name} -->`
    const start = out.indexOf(open)
    const end = out.indexOf(close)
    if (start < 0 || end < start) throw new Error(`${file} has no ${open} … ${close} section`)
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

// The scale model (bench/scale.ts), rendered into docs/scaling.md by the same markers.

const SCALING_DOC = new URL('../docs/scaling.md', import.meta.url)
const percent = (x: number) => `${x.toFixed(1)} %`
const micros = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0))

/** A fan's visit, step by step, as Redis and the service process counted it. */
export function visitTable(v: VisitFigures): string {
  const total = (field: 'requestsPerFan' | 'luaCallsPerFan' | 'commandsPerFan' | 'redisCpuUsPerFan' | 'serverCpuUsPerFan') =>
    v.steps.reduce((sum, s) => sum + s[field], 0)
  const two = (x: number) => x.toFixed(2)
  return [
    '| step | requests per fan | Lua calls per fan | Redis commands per fan | Redis CPU µs per fan | service CPU µs per fan | commands most called, per fan |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...v.steps.map(
      (s) =>
        `| ${s.step} | ${two(s.requestsPerFan)} | ${two(s.luaCallsPerFan)} | ${two(s.commandsPerFan)} | ${s.redisCpuUsPerFan} | ${s.serverCpuUsPerFan} | ${s.top} |`,
    ),
    `| **whole visit** | ${two(total('requestsPerFan'))} | ${two(total('luaCallsPerFan'))} | ${two(total('commandsPerFan'))} | ${total('redisCpuUsPerFan')} | ${total('serverCpuUsPerFan')} | |`,
    '',
    `${thousands(v.fans)} fans, admitted at ${v.admitPerS} a second; each polled ${v.pollsPerFan.toFixed(2)} times on average while it waited. Every step is less the background of one process with this line live and nobody asking, measured in the same run: ${v.background.commandsPerS} commands a second (${v.background.luaCallsPerS} of them script runs), ${percent(v.background.redisCpuPercent)} of a core for Redis (${percent(v.background.redisIdlePercent)} before the process started), ${percent(v.background.serverCpuPercent)} for the process.`,
  ].join('\n')
}

/** What the shard part says of the relief; results from before it was built give what it would be built from. */
function reliefNote(s: ShardFigures): string {
  const h = s.heartbeat as ShardFigures['heartbeat'] & Partial<ShardFigures['heartbeat']>
  if (h.redisCpuUsPerTick === undefined) {
    return `Measured before the relief was built, what it would be built from, on the same line: a heartbeat batch (\`ZMSCORE\` and \`ZADD XX\` of ${thousands(h.batch)} fans) costs ${micros(h.redisCpuUsPerMember)} µs a fan; a copy of the whole line (\`ZRANGE … WITHSCORES\` of ${thousands(s.copy.members)} fans) ${micros(s.copy.redisCpuUsPerMember)} µs a fan.`
  }
  return `The relief, on the line left waiting (${thousands(s.copy.members)} fans): *copy* is each client copying it in slices (per fan copied), *relieved* the status polls of the client's fans still waiting, with its copy and its tick every 250 ms (heartbeats and the read of the counts included). One process's heartbeats of ${thousands(h.fans)} polls answered from its copy (runs of ${thousands(h.batch)}) cost ${micros(h.redisCpuUsPerMember)} µs a fan; a tick with nothing to send, ${micros(h.redisCpuUsPerTick)} µs.`
}

/** The join and status scripts at one Redis, the tick, and the relief. */
export function shardTable(s: ShardFigures): string {
  return [
    '| script | client processes × calls in flight | per second | per script run | Redis CPU | Redis CPU µs each | one Redis core carries, per second |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...s.rows.map(
      (r) =>
        `| ${r.script} | ${s.clients} × ${r.inFlight} | ${thousands(r.opsPerS)} | ${r.opsPerCall} | ${percent(r.redisCpuPercent)} | ${micros(r.redisCpuUsPerOp)} | ${thousands(r.ceilingPerS)} |`,
    ),
    '',
    `${s.durationS} s a row; the polls ran on a line of ${thousands(s.lineLength)} waiting fans. The tick admitting ${thousands(s.tick.admitPerTick)} fans: ${thousands(s.tick.redisCpuUsPerTick)} µs of Redis CPU a tick, ${micros(s.tick.redisCpuUsPerAdmitted)} µs a fan admitted (the mean of ${s.tick.ticks} ticks). ${reliefNote(s)}`,
  ].join('\n')
}

/** Polls a second against the line's length: summed over the positions, along the line, and simulated. */
export function pollTable(p: PollFigures): string {
  // Results from before the relief was built have no count of the polls it answered.
  const relief = p.rows.every((r) => r.fromCopy !== undefined)
  return [
    `| fans waiting | polls/s summed over positions | polls/s along the line (model) | simulated fans | polls counted | simulated polls/s (× scale) | model for the simulated line (× scale) | simulated ÷ model |${relief ? ' answered from the copy (simulated) | answered from the copy (model) |' : ''}`,
    `|---:|---:|---:|---:|---:|---:|---:|---:|${relief ? '---:|---:|' : ''}`,
    ...p.rows.map(
      (r) =>
        `| ${thousands(r.fans)} | ${thousands(r.summedPerS)} | ${thousands(r.modelPerS)} | ${thousands(r.simulatedFans)} | ${thousands(r.simulatedPolls)} | ${thousands(r.measuredPerS)} | ${thousands(r.modelAtScalePerS)} | ${r.measuredToModel.toFixed(2)} |${relief ? ` ${percent(r.fromCopy * 100)} | ${percent(r.modelFromCopy * 100)} |` : ''}`,
    ),
    '',
    `Admission at ${thousands(p.admitPerS)} a second, a poll cap of ${p.pollCapMs / 1000} s. Simulated at 1/${p.scale} of the line and of the rate (${p.admitPerS / p.scale} a second), on a clock moved by hand: ${p.windowS} simulated seconds counted after ${p.warmS} of warm-up.`,
  ].join('\n')
}

/** The status-poll and join mix on one and on two service processes. */
export function processTable(p: ProcessFigures): string {
  return [
    '| service processes | req/s | p50 ms | p99 ms | errors | service CPU µs/req | Redis CPU | load generator CPU |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...p.rows.map(
      (r) =>
        `| ${r.processes} | ${thousands(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.serverCpuUsPerReq} | ${percent(r.redisCpuPercent)} | ${percent(r.loadGeneratorCpuPercent)} |`,
    ),
    '',
    `Two processes ÷ one: **${p.twoToOne.toFixed(2)}**. One request in ${p.joinEvery} a join of a new fan, the others status polls of ${thousands(p.pollers)} fans along a paused line; ${p.durationS} s a run, ${p.connectionsPerProcess} connections per process, the median of ${p.rounds} rounds.`,
  ].join('\n')
}

/** Whether the plan was computed with the relief as built (results from before it give the proposal's model). */
const built = (p: Plan) => p.copyAgeS !== undefined

/** The sale's peak in each scenario: requests, processes, and the concert's shard as a share of one core. */
export function planTable(p: Plan): string {
  const row = (label: string, cell: (s: Plan['scenarios'][number]) => string) => `| ${label} | ${p.scenarios.map(cell).join(' | ')} |`
  return [
    row('at the peak', (s) => s.name),
    `|---|${p.scenarios.map(() => '---:').join('|')}|`,
    row('fans waiting', (s) => thousands(s.lineLength)),
    row('joins/s', (s) => thousands(s.joinsPerS)),
    row('polls/s', (s) => thousands(s.pollsPerS)),
    row("admitted fans' requests/s", (s) => thousands(s.admittedRequestsPerS)),
    row('service CPU, cores', (s) => s.processCores.toFixed(1)),
    row(`service processes at ${p.target * 100} %`, (s) => String(s.processes)),
    row('shard: joins', (s) => percent(s.shard.joins)),
    row('shard: polls', (s) => percent(s.shard.polls)),
    row('shard: admission (tick)', (s) => percent(s.shard.admission)),
    row("shard: admitted fans' gate checks and ends", (s) => percent(s.shard.admitted)),
    row("shard: the processes' own loops", (s) => percent(s.shard.background)),
    row('**shard, of one core**', (s) => `**${percent(s.shard.total)}**`),
    ...(built(p)
      ? [
          row('shard with the relief', (s) => percent(s.reliefTotal)),
          row('with the relief: of which the copies of the line', (s) => percent(s.reliefCopies)),
        ]
      : [
          row('shard with the relief (as proposed before it was built)', (s) => percent(s.reliefTotal)),
          row("with the relief: the copies, on a replica's core", (s) => percent((s as { reliefReplica?: number }).reliefReplica ?? 0)),
        ]),
  ].join('\n')
}

/** Where the sale breaks first, and the limits of one shard, in sentences. */
export function planSummary(p: Plan): string {
  const worst = [...p.scenarios].sort((x, y) => y.shard.total - x.shard.total)[0]!
  const target = p.target * 100
  const c = p.costs
  const lines: string[] = []
  const over = p.scenarios.filter((s) => s.shard.total > target)
  const named = (scenarios: Plan['scenarios']) => scenarios.map((s) => `"${s.name}"`).join(', ')
  if (over.length > 0) {
    lines.push(
      `**The concert's shard breaks first.** Against a plan of ${target} % of its one core it needs ${over.map((s) => `${percent(s.shard.total)} at "${s.name}"`).join(', ')}; at the worst, the polls alone take ${percent(worst.shard.polls)}${worst.shard.total > 100 ? ', and the whole is more than the core it has' : ''}. The service processes scale out (${worst.processes} carry the worst peak); the shard does not, as one concert's line lives on one shard whatever the cluster's size.`,
    )
    const relieved = over.filter((s) => s.reliefTotal <= target)
    const still = over.filter((s) => s.reliefTotal > target)
    lines.push(
      `With the relief ${built(p) ? 'described below' : 'as proposed before it was built (its copies on a replica, its costs those of what it would be built from; `npm run bench:scale` measures it as built)'}, ${relieved.length > 0 ? `${named(relieved)} ${relieved.length > 1 ? 'come' : 'comes'} within the plan` : 'no peak comes within the plan'}${still.length > 0 ? `; ${named(still)} ${still.length > 1 ? 'stay' : 'stays'} above it` : ''}.`,
    )
  } else {
    lines.push(
      `**One shard carries it**: at the worst peak, "${worst.name}", the concert's shard needs ${percent(worst.shard.total)} of its one core (plan: ${target} %), and ${worst.processes} service processes carry the requests.`,
    )
  }
  const line = (n: number) => (n === 0 ? 'no line at all' : `a line of ${thousands(n)} fans`)
  lines.push(
    `Within ${target} % of its core, one shard carries ${line(p.longestLine)} at ${thousands(p.admitPerS)} admitted a second; with the relief, ${line(p.longestLineWithRelief)}. ${built(p) ? `Each process copies the line once every ${p.copyAgeS} s; the first copies, one per process as admission opens, cost the shard ${p.firstCopiesS.toFixed(1)} s of CPU in all, taken in slices.` : `The relief's first copies of the line, one per process as admission opens, cost a replica ${p.firstCopiesS.toFixed(1)} s of CPU in all, taken in slices.`}`,
  )
  const rush = (s: number) => (s >= 3600 ? 'not even over an hour' : `only if it is spread over at least ${thousands(s)} s`)
  lines.push(
    `A rush in which all ${thousands(p.fans)} fans join while admission runs keeps the shard within ${target} % ${rush(p.shortestJoinWindowS)}; with the relief, ${rush(p.shortestJoinWindowSWithRelief)}.`,
  )
  lines.push(
    `Computed from the figures above. Redis CPU: a join ${micros(c.joinUs)} µs, a poll ${micros(c.pollUs)} µs, a gate check ${micros(c.touchUs)} µs, an end ${micros(c.endUs)} µs (the smallest batches measured), ${micros(c.admitUs)} µs a fan admitted by the tick, so ${micros(c.admittedRedisUs)} µs an admitted fan's gate checks and end, and ${micros(c.backgroundRedisUsPerS)} µs a second for each process's own loops; for the relief, ${micros(c.heartbeatUs)} µs a heartbeat and ${micros(c.copyUs)} µs a fan copied. Service CPU: ${micros(c.requestUs)} µs a queue request (one process, the mix) and ${micros(c.admittedServerUs)} µs an admitted fan's reads, hold and payment (the visit).`,
  )
  return lines.join('\n\n')
}

/** The sections of docs/scaling.md, from bench/results/scale.json. */
function scalingSections(scale: (Run & ScaleFigures) | undefined): Record<string, string> {
  const names = ['scale-visit', 'scale-shard', 'scale-polls', 'scale-processes', 'scale-plan']
  if (!scale) return Object.fromEntries(names.map((n) => [n, 'No results yet: `npm run bench:scale` writes them.']))
  const ran = ranOn(scale)
  return {
    'scale-visit': [ran, '', visitTable(scale.visit)].join('\n'),
    'scale-shard': [ran, '', shardTable(scale.shard)].join('\n'),
    'scale-polls': [ran, '', pollTable(scale.polls)].join('\n'),
    'scale-processes': [ran, '', processTable(scale.processes)].join('\n'),
    'scale-plan': [
      `${ran.slice(0, -1)}; ${thousands(scale.plan.fans)} fans for one concert, admitted at ${thousands(scale.plan.admitPerS)} a second.`,
      '',
      planTable(scale.plan),
      '',
      planSummary(scale.plan),
    ].join('\n'),
  }
}

/** The scale model's last result, if it was run. */
export function readScale(dir: URL = RESULTS): (Run & ScaleFigures) | undefined {
  const file = new URL('scale.json', dir)
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined
}

/** docs/scaling.md with every marked section rendered from `scale`; a missing marker is an error. */
export function withScaleResults(doc: string, scale: (Run & ScaleFigures) | undefined): string {
  return withSections(doc, 'docs/scaling.md', scalingSections(scale))
}

/** Renders bench/results/scale.json into docs/scaling.md; whether the document changed. */
export function updateScalingDoc(): boolean {
  const doc = readFileSync(SCALING_DOC, 'utf8')
  const updated = withScaleResults(doc, readScale())
  if (updated !== doc) writeFileSync(SCALING_DOC, updated)
  return updated !== doc
}
