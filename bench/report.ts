/**
 * `npm run bench:report`: renders the figures of bench/results/*.json into docs/performance.md
 * and docs/scaling.md, between their marker comments. The benchmarks do it themselves after
 * writing their results; this is for a results file that came from elsewhere, or a changed renderer.
 */
import { updatePerformanceDoc, updateScalingDoc } from './tables.js'

console.log(updatePerformanceDoc() ? 'docs/performance.md: figures renewed from bench/results/' : 'docs/performance.md: up to date')
console.log(updateScalingDoc() ? 'docs/scaling.md: figures renewed from bench/results/scale.json' : 'docs/scaling.md: up to date')
