import { describe, expect, it } from 'vitest'
import { Coalescer } from '../../src/platform/coalescer.js'

/** A batch runner that records each batch and answers when the test says so. */
function recorder(answer = (key: string, inputs: number[]) => inputs.map((n) => `${key}:${n}`)) {
  const batches: { key: string; inputs: number[]; finish(): void; fail(err: Error): void }[] = []
  const run = (key: string, inputs: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push({ key, inputs, finish: () => resolve(answer(key, inputs)), fail: reject })
    })
  return { batches, run }
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

describe('coalescer', () => {
  it('when calls arrive in one turn, then each key gets one batch, in call order, and each call its own answer', async () => {
    const { batches, run } = recorder()
    const coalescer = new Coalescer(run)
    const calls = [coalescer.run('a', 1), coalescer.run('b', 2), coalescer.run('a', 3), coalescer.run('a', 4)]
    await turn()
    expect(batches.map((b) => [b.key, b.inputs])).toEqual([
      ['a', [1, 3, 4]],
      ['b', [2]],
    ])
    for (const b of batches) b.finish()
    expect(await Promise.all(calls)).toEqual(['a:1', 'b:2', 'a:3', 'a:4'])
  })

  it('when a batch fills up, then it goes at once and the rest gather into the next', async () => {
    const { batches, run } = recorder()
    const coalescer = new Coalescer(run, { maxBatch: 3 })
    const calls = [1, 2, 3, 4, 5].map((n) => coalescer.run('a', n))
    expect(batches.map((b) => b.inputs)).toEqual([[1, 2, 3]])
    await turn()
    expect(batches.map((b) => b.inputs)).toEqual([
      [1, 2, 3],
      [4, 5],
    ])
    for (const b of batches) b.finish()
    expect(await Promise.all(calls)).toEqual(['a:1', 'a:2', 'a:3', 'a:4', 'a:5'])
  })

  it('when maxInFlight batches of a key are running, then new calls wait and go as one batch when one ends', async () => {
    const { batches, run } = recorder()
    const coalescer = new Coalescer(run, { maxInFlight: 1 })
    const first = coalescer.run('a', 1)
    await turn()
    const later = [2, 3, 4].map((n) => coalescer.run('a', n))
    const otherKey = coalescer.run('b', 9)
    await turn()
    await turn()
    expect(batches.map((b) => [b.key, b.inputs])).toEqual([
      ['a', [1]],
      ['b', [9]],
    ])
    batches[0]!.finish()
    expect(await first).toBe('a:1')
    await turn()
    expect(batches.map((b) => b.inputs)).toEqual([[1], [9], [2, 3, 4]])
    batches[2]!.finish()
    batches[1]!.finish()
    expect(await Promise.all([...later, otherKey])).toEqual(['a:2', 'a:3', 'a:4', 'b:9'])
  })

  it('when a batch fails, then each of its calls fails with that error and the next batch still runs', async () => {
    const { batches, run } = recorder()
    const coalescer = new Coalescer(run)
    const failed = [coalescer.run('a', 1), coalescer.run('a', 2)]
    await turn()
    batches[0]!.fail(new Error('store down'))
    for (const call of failed) await expect(call).rejects.toThrow('store down')
    const next = coalescer.run('a', 3)
    await turn()
    batches[1]!.finish()
    expect(await next).toBe('a:3')
  })

  it('when a batch answers with the wrong number of results, then its calls fail rather than get answers that are not theirs', async () => {
    const { batches, run } = recorder((_, inputs) => inputs.slice(1).map(String))
    const coalescer = new Coalescer(run)
    const calls = [coalescer.run('a', 1), coalescer.run('a', 2)]
    await turn()
    batches[0]!.finish()
    for (const call of calls) await expect(call).rejects.toThrow('a batch of 2 calls returned 1 results')
  })
})
