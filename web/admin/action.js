import { useState } from '../shared/html.js'

/** @import { Problem } from '../shared/api.js' */

/**
 * What a control does when used: `run(work)` runs it, `busy` while it does, and `problem` is the
 * refusal it ended with (cleared when it runs again; `initial` before it first runs).
 * @param {Problem} [initial]
 */
export function useAction(initial) {
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState(initial)
  /** @param {() => Promise<unknown>} work */
  const run = async (work) => {
    setBusy(true)
    setProblem(undefined)
    try {
      await work()
    } catch (err) {
      setProblem(/** @type {Problem} */ (err))
    } finally {
      setBusy(false)
    }
  }
  return { busy, problem, run }
}
