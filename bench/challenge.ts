/**
 * `npm run bench:challenge`: what the proof of work on join costs. Creates challenges as the
 * server does, solves them as a fan's page would (here in Node, with the same SHA-256 work the
 * browser's Web Crypto does), and verifies the solutions as the join does, including the
 * single-use claim. Prints the figures and writes them to bench/results/challenge.json and
 * docs/performance.md; `BENCH_CHALLENGES` sets how many (default 20).
 */
import { solveChallenge } from 'altcha-lib'
import { deriveKey } from 'altcha-lib/algorithms/sha'
import { systemClock } from '../src/platform/clock.js'
import { CHALLENGE_MAX_COUNTER, JoinChallenges, type UsedSolutions } from '../src/queue/challenges.js'
import { writeSummary } from './lib.js'
import { challengeTable } from './tables.js'

const N = Number(process.env.BENCH_CHALLENGES ?? 20)
const used = new Set<string>()
const memory: UsedSolutions = { claim: async (id) => !used.has(id) && Boolean(used.add(id)), sweep: async () => {} }
const challenges = new JoinChallenges('bench-secret-bench-secret-bench-secret', memory, systemClock)

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!
const create: number[] = []
const solve: number[] = []
const verify: number[] = []
let failures = 0
for (let i = 0; i < N; i++) {
  let t = performance.now()
  const challenge = await challenges.create('con_bench')
  create.push(performance.now() - t)
  t = performance.now()
  const solution = await solveChallenge({ challenge, deriveKey })
  solve.push(performance.now() - t)
  const payload = Buffer.from(JSON.stringify({ challenge, solution })).toString('base64')
  t = performance.now()
  if ((await challenges.verify(payload, 'con_bench')) !== 'ok') failures++
  verify.push(performance.now() - t)
}
const round = (x: number) => Number(x.toFixed(3))
const figures = {
  challenges: N,
  maxCounter: CHALLENGE_MAX_COUNTER,
  createP50Ms: round(percentile(create, 0.5)),
  createP95Ms: round(percentile(create, 0.95)),
  solveP50Ms: round(percentile(solve, 0.5)),
  solveP95Ms: round(percentile(solve, 0.95)),
  verifyP50Ms: round(percentile(verify, 0.5)),
  verifyP95Ms: round(percentile(verify, 0.95)),
  failed: failures,
}
console.log(`join challenges (${N}): SHA-256, deterministic, counter drawn from 0 to ${CHALLENGE_MAX_COUNTER.toLocaleString('en')}`)
console.log(challengeTable(figures))
writeSummary('challenge', figures)
if (failures > 0) process.exitCode = 1
