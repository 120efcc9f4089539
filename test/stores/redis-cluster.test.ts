import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalRedisCluster, startRedisCluster } from '../support/redis-cluster.js'

describe('local Redis Cluster', () => {
  let local: LocalRedisCluster | undefined
  let cluster: Cluster | undefined

  beforeAll(async () => {
    local = await startRedisCluster()
    cluster = new Cluster(local.nodes)
  }, 60_000)

  afterAll(async () => {
    // Close the client first so it does not try to reconnect to nodes being shut down.
    await cluster?.quit()
    await local?.stop()
  })

  it('when the cluster has started, then it exposes three masters and a matching url', () => {
    expect(local!.nodes).toHaveLength(3)
    expect(local!.url).toBe(`redis-cluster://${local!.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`)
  })

  it('when keys share a hash tag, then both are written and land in the same slot', async () => {
    const c = cluster!
    await c.set('{x}:a', '1')
    await c.set('{x}:b', '2')
    expect(await c.get('{x}:a')).toBe('1')
    expect(await c.get('{x}:b')).toBe('2')
    expect(await c.cluster('KEYSLOT', '{x}:a')).toBe(await c.cluster('KEYSLOT', '{x}:b'))
  })

  it('when keys have different hash tags, then they spread over more than one master', async () => {
    const c = cluster!
    await Promise.all(Array.from({ length: 50 }, (_, i) => c.set(`{k${i}}:v`, String(i))))
    const masters = c.nodes('master')
    expect(masters).toHaveLength(3)
    const sizes = await Promise.all(masters.map((m) => m.dbsize()))
    expect(sizes.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2)
  })
})
