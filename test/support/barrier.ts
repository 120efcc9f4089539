/**
 * Lets `n` callers through only together, round after round. Negative controls use it so that
 * broken read-then-write code interleaves for certain: everyone reads before anyone writes.
 */
export function barrier(n: number): () => Promise<void> {
  let arrived = 0
  let release!: () => void
  let all = new Promise<void>((r) => (release = r))
  return async () => {
    const current = all
    if (++arrived === n) {
      arrived = 0
      release()
      all = new Promise<void>((r) => (release = r))
    }
    await current
  }
}
