/**
 * The scale model of the waiting room (docs/scaling.md): the figures `npm run bench:scale`
 * measures, and what they say one concert's sale needs. Pure functions: bench/scale.ts measures,
 * computes the plan with `plan()` and keeps both in bench/results/scale.json; bench/tables.ts
 * renders them.
 */
import { lineCopyAgeMs, NEAR_FRONT_S } from '../src/queue/relief.js'

/**
 * The poll policy of `QueueService.view()` (src/queue/service.ts), restated for the formula: a
 * waiting fan is told to come back after a quarter of its wait, at least MIN_POLL_MS and at most
 * the poll cap, spread by ±20 % (whose mean is the wait itself). The simulation in bench/scale.ts
 * checks the formula against the real code.
 */
const MIN_POLL_MS = 1000
const MAX_POLL_MS = 30_000

/** The longest wait a waiting fan is told: a third of the waiting idle limit, at most 30 s. */
export const pollCapMs = (waitingIdleS: number) => Math.min(MAX_POLL_MS, Math.floor((waitingIdleS * 1000) / 3))

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value))

/** The wait a fan at `position` is told, in ms, before its spread. */
const pollAfterMs = (position: number, admitPerS: number, capMs: number) =>
  clamp(Math.floor((Math.ceil(position / admitPerS) * 1000) / 4), MIN_POLL_MS, capMs)

/**
 * Polls a second from a line of `fans` waiting fans admitted at `admitPerS`, summed over the
 * positions: each fan at position p polls once per pollAfterMs(p) on average (its mean interval),
 * so the line sends Σ_{p=1..N} 1000 / pollAfterMs(p) a second, plus R for the poll in which each
 * admitted fan learns it. The positions with the same wait in whole seconds, k = ceil(p / R), are
 * told the same pollAfterMs, so the sum runs over k. This is what a line that stood still would
 * send: in a moving line each fan's wait is set by where it was when it asked, and it moves on.
 */
export function pollsSummedOverPositions(fans: number, admitPerS: number, capMs: number): number {
  let polls = admitPerS
  const seconds = Math.ceil(fans / admitPerS)
  for (let k = 1; k <= seconds; k++) {
    const atThisWait = Math.min(fans, Math.floor(k * admitPerS)) - Math.floor((k - 1) * admitPerS)
    polls += (atThisWait * 1000) / pollAfterMs(k * admitPerS, admitPerS, capMs)
  }
  return polls
}

/** The grid of `pollsAlongTheLine`, in seconds. */
const GRID_S = 0.01
/** The ±20 % spread of every wait, as the midpoints of 20 equal slices of [0.8, 1.2]. */
const SPREAD = Array.from({ length: 20 }, (_, k) => 0.8 + (0.4 * (k + 0.5)) / 20)

/**
 * Polls a second from a line of `fans` admitted at `admitPerS`, following one fan along it: the
 * line moves R places a second, so polls arrive at R times what one fan sends on its way from the
 * back (position N, where its join told it its first wait) to its admission, the poll that learns
 * of it included. Each wait is set by the fan's position when it asked and spread by ±20 %; the
 * expected count over the spread is worked out backwards on a 10 ms grid: from a poll at time t,
 * 1 for the next poll, plus what follows it if the fan is still waiting then. The same for a line
 * kept long by new arrivals as for one draining, since every fan in it moves the same way.
 */
export function pollsAlongTheLine(fans: number, admitPerS: number, capMs: number): number {
  const admittedAt = Math.ceil(fans / admitPerS / GRID_S)
  /** Expected polls after a poll (or the join) at grid point i, until the fan learns it is admitted. */
  const after = new Float64Array(admittedAt + 1)
  for (let i = admittedAt - 1; i >= 0; i--) {
    const wait = pollAfterMs(fans - admitPerS * i * GRID_S, admitPerS, capMs) / 1000
    let polls = 0
    for (const u of SPREAD) {
      const next = i + Math.round((wait * u) / GRID_S)
      polls += 1 + (next < admittedAt ? after[next]! : 0)
    }
    after[i] = polls / SPREAD.length
  }
  return admitPerS * after[0]!
}

/** One step of a fan's visit, as Redis and the service process counted it (bench/scale.ts `measureVisit`). */
export interface VisitStep {
  step: string
  /** HTTP requests a fan made in this step. */
  requestsPerFan: number
  /** EVALSHA and EVAL calls. */
  luaCallsPerFan: number
  /** Every command Redis ran, those inside scripts included. */
  commandsPerFan: number
  redisCpuUsPerFan: number
  serverCpuUsPerFan: number
  /** The commands most called, per fan: "zadd 2.00, zrank 1.00". */
  top: string
}

export interface VisitFigures {
  fans: number
  admitPerS: number
  pollsPerFan: number
  /** What one process costs Redis and itself with one live concert and nobody asking: subtracted from every step. */
  background: {
    commandsPerS: number
    luaCallsPerS: number
    redisCpuPercent: number
    /** Redis with no client at all, measured before the process started: its own housekeeping. */
    redisIdlePercent: number
    serverCpuPercent: number
  }
  steps: VisitStep[]
}

/** A queue script driven straight at Redis from several client processes: join, status, the gate's touch, the end. */
export interface ShardRow {
  /** `copy`: each client copies the line once (its ops are the fans copied); `relieved`: status polls with the relief. */
  script: 'join' | 'status' | 'touch' | 'end' | 'copy' | 'relieved'
  /** Calls each client process keeps in flight: they gather into one script run per event-loop turn. */
  inFlight: number
  opsPerS: number
  /** Calls per script run (the batching); a batch of joins runs two scripts, the join and the listing. */
  opsPerCall: number
  redisCpuPercent: number
  redisCpuUsPerOp: number
  /** What one Redis core would carry at this cost: 1,000,000 µs over the cost of one. */
  ceilingPerS: number
}

export interface ShardFigures {
  clients: number
  durationS: number
  /** Fans waiting when the polls were measured. */
  lineLength: number
  rows: ShardRow[]
  tick: { admitPerTick: number; ticks: number; redisCpuUsPerTick: number; redisCpuUsPerAdmitted: number }
  /**
   * The relief: a heartbeat run (lua/beat-3.lua, up to `batch` fans a run) per fan, of `fans`
   * polls answered from one process's copy, and a tick with nothing to send (the read of the counts).
   */
  heartbeat: { batch: number; fans: number; redisCpuUsPerMember: number; redisCpuUsPerTick: number }
  /** A copy of the line in slices (lua/slice-3.lua), per fan copied: the `copy` row. */
  copy: { members: number; redisCpuUsPerMember: number }
}

export interface PollRow {
  fans: number
  /** At full scale: summed over the positions, and along the line (the model the plan uses). */
  summedPerS: number
  modelPerS: number
  simulatedFans: number
  simulatedPolls: number
  /** The share of the counted polls the relief answered from a copy of the line, and what the model says of it. */
  fromCopy: number
  modelFromCopy: number
  /** Polls a simulated second in the window, times the scale. */
  measuredPerS: number
  /** The model for the simulated line and rate, times the scale: what the simulation checks. */
  modelAtScalePerS: number
  measuredToModel: number
}

export interface PollFigures {
  admitPerS: number
  waitingIdleS: number
  pollCapMs: number
  scale: number
  warmS: number
  windowS: number
  rows: PollRow[]
}

export interface ProcessRow {
  processes: number
  rps: number
  p50: number
  p99: number
  errors: number
  serverCpuUsPerReq: number
  redisCpuPercent: number
  loadGeneratorCpuPercent: number
}

export interface ProcessFigures {
  connectionsPerProcess: number
  durationS: number
  /** One request in this many is a join of a new fan; the rest are status polls. */
  joinEvery: number
  rounds: number
  pollers: number
  rows: ProcessRow[]
  twoToOne: number
}

export interface ScaleMeasurements {
  visit: VisitFigures
  shard: ShardFigures
  polls: PollFigures
  processes: ProcessFigures
}

/** One moment of the sale, at its peak: the load on the service processes and on the concert's shard. */
export interface PlanScenario {
  name: string
  lineLength: number
  joinsPerS: number
  pollsPerS: number
  /** Gated reads, holds and payments of the fans admitted. */
  admittedRequestsPerS: number
  processCores: number
  processes: number
  /** Shares of one Redis core, in per cent. */
  shard: { joins: number; polls: number; admission: number; admitted: number; background: number; total: number }
  /** The shard's total with the relief (positions from a copy of the line, heartbeats batched), the copies included. */
  reliefTotal: number
  /** Of that, the processes' copies of the line, each taken once per copy age from the shard's primary. */
  reliefCopies: number
}

export interface Plan {
  fans: number
  admitPerS: number
  joinWindowS: number
  prequeueS: number
  /** The share of a core a process or a shard is planned to, leaving room for bursts. */
  target: number
  /** Costs the plan is computed from, each from a measured figure (µs of CPU). */
  costs: {
    /** Redis, per join, poll, gate check (touch) and end, at the smallest batches measured; per fan admitted by the tick. */
    joinUs: number
    pollUs: number
    touchUs: number
    endUs: number
    admitUs: number
    /** Redis, per admitted fan: a touch for each gated read and the hold, the payment's peek (as a touch) and end. */
    admittedRedisUs: number
    /** A service process, per queue request (the mix of polls and joins), and per admitted fan's reads, hold and payment. */
    requestUs: number
    admittedServerUs: number
    /** Redis, per second, for each process's own loops with the concert live. */
    backgroundRedisUsPerS: number
    /** Redis, per fan in a heartbeat batch, and per fan copied. */
    heartbeatUs: number
    copyUs: number
  }
  scenarios: PlanScenario[]
  /** The longest line one shard carries at `admitPerS` within the target, today and with the relief. */
  longestLine: number
  longestLineWithRelief: number
  /** The shortest window in which all `fans` may join (admission running) with one shard within the target, today and with the relief. */
  shortestJoinWindowS: number
  shortestJoinWindowSWithRelief: number
  /** With the relief, the first copies of the whole line as admission opens (one per process), in seconds of the shard's CPU. */
  firstCopiesS: number
  /** How often each process copies the line again, in seconds. */
  copyAgeS: number
}

export interface ScaleFigures extends ScaleMeasurements {
  plan: Plan
}

export interface PlanInputs {
  fans: number
  admitPerS: number
  /** A rush: every fan joins within this many seconds of admission opening. */
  joinWindowS: number
  /** A pre-queue: the line opens this long before admission, and the fans join it evenly. */
  prequeueS: number
  target: number
}

/**
 * The share of a line's polls answered from a copy with the relief, by the model: all but those of
 * the fans within the front's places.
 */
export function fromCopyShare(fans: number, admitPerS: number, capMs: number): number {
  const all = pollsAlongTheLine(fans, admitPerS, capMs)
  return 1 - pollsAlongTheLine(Math.min(fans, NEAR_FRONT_S * admitPerS), admitPerS, capMs) / all
}

/** The cost of a script at the smallest batches measured: what a crowd spread over many processes gets. */
function smallBatchCost(rows: ShardRow[], script: ShardRow['script']): number {
  const mine = rows.filter((r) => r.script === script).sort((a, b) => a.inFlight - b.inFlight)
  if (mine.length === 0) throw new Error(`no shard figures for the ${script} script`)
  return mine[0]!.redisCpuUsPerOp
}

/**
 * What the sale needs, from the measured costs: for each scenario's peak, the requests a second,
 * the service processes they need, and the concert's shard's load as a share of one core (Redis
 * runs commands on one thread), today and with the proposed relief.
 */
export function plan(m: ScaleMeasurements, inputs: PlanInputs): Plan {
  const { fans, admitPerS: R, joinWindowS, prequeueS, target } = inputs
  const capMs = m.polls.pollCapMs
  const perFan = (step: string) => m.visit.steps.find((s) => s.step === step)?.requestsPerFan ?? 0
  const admittedSteps = m.visit.steps.filter((s) => ['gated reads', 'hold', 'payment'].includes(s.step))
  const oneProcess = m.processes.rows.find((r) => r.processes === 1)
  if (!oneProcess) throw new Error('no figures for one process')
  const touchUs = smallBatchCost(m.shard.rows, 'touch')
  const endUs = smallBatchCost(m.shard.rows, 'end')
  const costs = {
    joinUs: smallBatchCost(m.shard.rows, 'join'),
    pollUs: smallBatchCost(m.shard.rows, 'status'),
    touchUs,
    endUs,
    admitUs: m.shard.tick.redisCpuUsPerAdmitted,
    admittedRedisUs: (perFan('gated reads') + perFan('hold') + perFan('payment')) * touchUs + perFan('payment') * endUs,
    requestUs: oneProcess.serverCpuUsPerReq,
    admittedServerUs: admittedSteps.reduce((sum, s) => sum + s.serverCpuUsPerFan, 0),
    backgroundRedisUsPerS: Math.max(0, m.visit.background.redisCpuPercent - m.visit.background.redisIdlePercent) * 10_000,
    heartbeatUs: m.shard.heartbeat.redisCpuUsPerMember,
    copyUs: m.shard.copy.redisCpuUsPerMember,
  }
  const copyAgeS = lineCopyAgeMs(m.polls.waitingIdleS) / 1000
  const admittedRequests = admittedSteps.reduce((sum, s) => sum + s.requestsPerFan, 0)
  const percentOfCore = (usPerS: number) => usPerS / 10_000

  /**
   * The polls' cost on the shard with the relief (docs/scaling.md, the next step): the fans near
   * the front run the status script as today; every other poll is one fan in its process's
   * heartbeat run of the tick. The joins' counting is in the join's measured cost, and each tick's
   * read of the counts in the processes' own loops (the visit's background); each process copies
   * the whole line from the shard once per copy age.
   */
  const reliefPollsUs = (lineLength: number, pollsPerS: number) => {
    const front = pollsAlongTheLine(Math.min(lineLength, NEAR_FRONT_S * R), R, capMs)
    return front * costs.pollUs + (pollsPerS - front) * costs.heartbeatUs
  }
  const copiesUs = (lineLength: number, processes: number) => (processes * lineLength * costs.copyUs) / copyAgeS

  /**
   * The load at one moment: `lineLength` fans waiting, `joinsPerS` joining. While admitting, the
   * line's polls follow the model, and R fans a second are admitted and buy; before admission
   * opens (a pre-queue) every fan polls once per poll cap, and the relief is not at work: the
   * admission loop does not tick a line before admission opens, so no process reads its counts.
   */
  const scenario = (name: string, lineLength: number, joinsPerS: number, admitting = true): PlanScenario => {
    const admitted = admitting ? R : 0
    const pollsPerS = admitting ? pollsAlongTheLine(lineLength, R, capMs) : (lineLength * 1000) / capMs
    const processCores = ((joinsPerS + pollsPerS) * costs.requestUs + admitted * costs.admittedServerUs) / 1e6
    const processes = Math.max(1, Math.ceil(processCores / target))
    const shard = {
      joins: percentOfCore(joinsPerS * costs.joinUs),
      polls: percentOfCore(pollsPerS * costs.pollUs),
      admission: percentOfCore(admitted * costs.admitUs),
      admitted: percentOfCore(admitted * costs.admittedRedisUs),
      background: percentOfCore(processes * costs.backgroundRedisUsPerS),
      total: 0,
    }
    shard.total = shard.joins + shard.polls + shard.admission + shard.admitted + shard.background
    const copies = admitting ? percentOfCore(copiesUs(lineLength, processes)) : 0
    const relieved = admitting ? percentOfCore(reliefPollsUs(lineLength, pollsPerS)) + copies : shard.polls
    return {
      name,
      lineLength,
      joinsPerS,
      pollsPerS,
      admittedRequestsPerS: admitted * admittedRequests,
      processCores,
      processes,
      shard,
      reliefTotal: shard.total - shard.polls + relieved,
      reliefCopies: copies,
    }
  }

  // A pre-queue, full just before admission opens and as it opens (the line at its longest), and
  // a rush: every fan joins within the window while admission runs, the line longest as the
  // window closes.
  const gathered = scenario(`a pre-queue of ${prequeueS / 60} min, full, before admission opens`, fans, fans / prequeueS, false)
  const opening = scenario('the whole line waiting as admission opens', fans, 0)
  const rushLine = (windowS: number) => Math.max(0, fans - R * windowS)
  const rush = scenario(`every fan joins within ${joinWindowS} s, admission running`, rushLine(joinWindowS), fans / joinWindowS)
  const fits = (s: PlanScenario) => s.shard.total <= target * 100
  const fitsWithRelief = (s: PlanScenario) => s.reliefTotal <= target * 100
  return {
    fans,
    admitPerS: R,
    joinWindowS,
    prequeueS,
    target,
    costs: round(costs),
    scenarios: [gathered, opening, rush].map((s) => ({
      ...s,
      pollsPerS: Math.round(s.pollsPerS),
      joinsPerS: Math.round(s.joinsPerS),
      processCores: round1(s.processCores),
      shard: round(s.shard),
      reliefTotal: round1(s.reliefTotal),
      reliefCopies: round1(s.reliefCopies),
    })),
    longestLine: largest((n) => fits(scenario('', n, 0)), 10 * fans),
    longestLineWithRelief: largest((n) => fitsWithRelief(scenario('', n, 0)), 10 * fans),
    shortestJoinWindowS: smallest((w) => fits(scenario('', rushLine(w), fans / w)), 3600),
    shortestJoinWindowSWithRelief: smallest((w) => fitsWithRelief(scenario('', rushLine(w), fans / w)), 3600),
    firstCopiesS: round1((opening.processes * fans * costs.copyUs) / 1e6),
    copyAgeS,
  }
}

/** The largest n in [0, limit] for which `ok` holds, `ok` holding below some n and not above it (bisection). */
function largest(ok: (n: number) => boolean, limit: number): number {
  if (!ok(0)) return 0
  if (ok(limit)) return limit
  let [lo, hi] = [0, limit]
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2)
    if (ok(mid)) lo = mid
    else hi = mid
  }
  return lo
}

/** The smallest whole w in [1, limit] for which `ok` holds, `ok` holding above some w (bisection); limit if none. */
function smallest(ok: (w: number) => boolean, limit: number): number {
  if (!ok(limit)) return limit
  let [lo, hi] = [1, limit]
  if (ok(lo)) return lo
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (ok(mid)) hi = mid
    else lo = mid
  }
  return hi
}

const round1 = (x: number) => Math.round(x * 10) / 10
const round = <T extends Record<string, number>>(o: T): T =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v < 10 ? Math.round(v * 100) / 100 : round1(v)])) as T
