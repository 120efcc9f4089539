/**
 * `npm run bench:report`: renders the figures of bench/results/*.json into docs/performance.md,
 * between its marker comments. The benchmarks do it themselves after writing their results; this
 * is for a results file that came from elsewhere, or a changed renderer.
 */
import { updatePerformanceDoc } from './tables.js'

console.log(updatePerformanceDoc() ? 'docs/performance.md: figures renewed from bench/results/' : 'docs/performance.md: up to date')
