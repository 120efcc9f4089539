import { randomInt } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADAPTIVE_WINDOW_MS } from '../../src/queue/adaptive.js'
import { emptyCounts } from '../../src/queue/booking-health.js'
import type { RedisQueueStore } from '../../src/queue/redis-store.js'
import { NEAR_FRONT_S } from '../../src/queue/relief.js'
import type { QueueSettings } from '../../src/queue/settings.js'
import type { EntryState, JoinLimit, JoinResult, QueueStore } from '../../src/queue/store.js'
import { heartbeatWithoutXX } from '../support/negative-controls.js'
import { queueStoreTargets, type StoreUnderTest } from '../support/queue-store-targets.js'

const T0 = Date.parse('2030-01-01T00:00:00Z')
const SECOND = 1000
const MINUTE = 60 * SECOND

const limits = (overrides: Partial<QueueSettings> = {}): QueueSettings => ({
  strategy: 'hybrid',
  admitPerTick: 100,
  tickMs: 1000,
  maxActive: 1000,
  paused: false,
  activeIdleS: 300,
  activeMaxS: 1800,
  waitingIdleS: 300,
  adaptive: { enabled: false, minAdmitPerTick: 1, maxAdmitPerTick: 1000, targetLatencyMs: 250 },
  ...overrides,
})

let userSeq = 0
const user = () => `usr_${++userSeq}_${randomInt(1e9)}`
let tokenSeq = 0
const token = () => `qt_${++tokenSeq}_${randomInt(1e9)}`
let arrivals = 0
/** Order keys by arrival, as the queue service gives them. */
const nextKey = () => ++arrivals

describe.each(queueStoreTargets)('queue store contract on $name', (target) => {
  let sut: StoreUnderTest
  let store: QueueStore
  beforeAll(async () => {
    sut = await target.open(4)
    store = sut.stores[0]!
  })
  afterAll(() => sut.close())

  const join = async (concertId: string, now = T0, l = limits(), userId = user(), orderKey = nextKey()) =>
    store.join(concertId, userId, token(), orderKey, now, l)
  /** What a joined fan's token says of its entry. */
  const entryOf = (userId: string, joined: { joinedAt: number; orderKey: number }) => ({
    userId,
    joinedAt: joined.joinedAt,
    orderKey: joined.orderKey,
  })
  /** For polls where the entry is live, so its token's data is never used. */
  const live = { userId: 'usr_live', joinedAt: T0, orderKey: 0 }

  const positionOf = (s: EntryState) => (s.state === 'WAITING' ? s.position : s.state)

  it('when users join one after another, then each is placed behind the last', async () => {
    const c = await sut.newConcert()
    const joined = []
    for (let i = 0; i < 5; i++) joined.push(await join(c))
    expect(joined.map((j) => positionOf(j.state))).toEqual([1, 2, 3, 4, 5])
    expect(joined.every((j) => j.created)).toBe(true)
    expect(positionOf(await store.peek(c, joined[3]!.tokenId, T0))).toBe(4)
  })

  it('when a user joins again, then the same token and place come back and no entry is added', async () => {
    const c = await sut.newConcert()
    await join(c)
    const u = user()
    const first = await join(c, T0, limits(), u)
    const again = await store.join(c, u, token(), nextKey(), T0 + SECOND, limits())
    expect(again).toMatchObject({ tokenId: first.tokenId, joinedAt: first.joinedAt, created: false })
    expect(positionOf(again.state)).toBe(2)
    expect((await store.figures(c, T0 + SECOND, limits())).waiting).toBe(2)
  })

  it('when one user joins 20 times in parallel on several connections, then there is one entry', async () => {
    const c = await sut.newConcert()
    const u = user()
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sut.stores[i % sut.stores.length]!.join(c, u, token(), nextKey(), T0, limits())),
    )
    expect(new Set(results.map((r) => r.tokenId)).size).toBe(1)
    expect(results.filter((r) => r.created)).toHaveLength(1)
    expect((await store.figures(c, T0, limits())).waiting).toBe(1)
  })

  it('when 200 users join in parallel, then their places are exactly 1 to 200', async () => {
    const c = await sut.newConcert()
    const joined = await Promise.all(
      Array.from({ length: 200 }, (_, i) => sut.stores[i % sut.stores.length]!.join(c, user(), token(), nextKey(), T0, limits())),
    )
    const positions = await Promise.all(joined.map(async (j) => positionOf(await store.peek(c, j.tokenId, T0))))
    expect([...positions].sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
  })

  it('when many polls of one concert arrive at once, then each gets its own answer, whatever the others are', async () => {
    const c = await sut.newConcert()
    const other = await sut.newConcert()
    const first = user()
    const joined = [await join(c, T0, limits(), first)]
    for (let i = 1; i < 30; i++) joined.push(await join(c))
    const elsewhere = await join(other)
    await store.tick(c, T0 + SECOND, limits({ strategy: 'rate', admitPerTick: 10 }))
    const tokens = [...joined.map((j) => j.tokenId), token(), elsewhere.tokenId, joined[15]!.tokenId]
    // The two tokens this concert has no trace of name a user who is in its line: they are not put back.
    const states = await Promise.all(
      tokens.map((t) => store.status(c, t, T0 + SECOND, limits(), { userId: first, joinedAt: T0, orderKey: 10 ** 12 })),
    )
    expect(states.slice(0, 10).map((s) => s.state)).toEqual(Array(10).fill('ACTIVE'))
    expect(states.slice(10, 30).map(positionOf)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(states.slice(30)).toEqual([
      { state: 'EXPIRED', reason: null },
      { state: 'EXPIRED', reason: null },
      { state: 'WAITING', position: 6 },
    ])
  })

  /** Two processes' stores on one concert; `joinAt` joins a fan through the first, `poll` asks where every fan joined so far stands. */
  const twoProcesses = async () => {
    const c = await sut.newConcert()
    const [a, b] = [sut.stores[0]!, sut.stores[1]!]
    const joined: JoinResult[] = []
    const joinAt = async (now: number) => joined.push(await a.join(c, user(), token(), nextKey(), now, limits()))
    const poll = (s: QueueStore, now: number) =>
      Promise.all(joined.map(async (j) => positionOf(await s.status(c, j.tokenId, now, limits(), live))))
    for (let i = 0; i < 10; i++) await joinAt(T0)
    return { c, a, b, joined, joinAt, poll }
  }

  it('when fans join after another process last read the line, then its polls still place every fan exactly', async () => {
    const { b, joinAt, poll } = await twoProcesses()
    expect(await poll(b, T0)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1))
    for (let i = 0; i < 5; i++) await joinAt(T0 + 100)
    expect(await poll(b, T0 + 200)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1))
  })

  it('when one process admits, then every process polls the new places at once', async () => {
    const { c, a, b, joinAt, poll } = await twoProcesses()
    // Each process has read the line half a tick before the admission.
    await poll(a, T0 + SECOND / 2)
    await poll(b, T0 + SECOND / 2)
    expect(await a.tick(c, T0 + SECOND, limits({ strategy: 'rate', admitPerTick: 3 }))).toMatchObject({ admitted: 3 })
    const after = ['ACTIVE', 'ACTIVE', 'ACTIVE', 1, 2, 3, 4, 5, 6, 7]
    expect(await poll(a, T0 + SECOND)).toEqual(after)
    expect(await poll(b, T0 + SECOND)).toEqual(after)
    // Fans who joined since are placed behind those left in line.
    for (let i = 0; i < 3; i++) await joinAt(T0 + SECOND)
    expect(await b.tick(c, T0 + 2 * SECOND, limits({ strategy: 'rate', admitPerTick: 4 }))).toMatchObject({ admitted: 4 })
    const later = [...Array(7).fill('ACTIVE'), 1, 2, 3, 4, 5, 6]
    expect(await poll(a, T0 + 2 * SECOND)).toEqual(later)
    expect(await poll(b, T0 + 2 * SECOND)).toEqual(later)
  })

  it('when fans at the front leave through one process, then every process polls the new places at once', async () => {
    const { c, a, b, joined, poll } = await twoProcesses()
    expect(await poll(b, T0)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1))
    for (const j of joined.slice(0, 2)) await a.end(c, j.tokenId, 'LEFT', T0 + 100, limits())
    expect(await poll(b, T0 + 100)).toEqual(['EXPIRED', 'EXPIRED', 1, 2, 3, 4, 5, 6, 7, 8])
  })

  it('when a fan lands at the front after another process read the line and admitted, then every process places it first', async () => {
    const { c, a, b, joined, poll } = await twoProcesses()
    await poll(b, T0 + SECOND / 2)
    expect(await a.tick(c, T0 + SECOND, limits({ strategy: 'rate', admitPerTick: 3 }))).toMatchObject({ admitted: 3 })
    // A pre-queue join answered after the opening: its order key sorts ahead of everyone.
    const late = await a.join(c, user(), token(), -1, T0 + SECOND, limits())
    joined.push(late)
    const after = ['ACTIVE', 'ACTIVE', 'ACTIVE', 2, 3, 4, 5, 6, 7, 8, 1]
    expect(await poll(b, T0 + SECOND)).toEqual(after)
    expect(await poll(a, T0 + SECOND)).toEqual(after)
  })

  it('when fans in the middle leave through one process and it admits, then no process polls a place ahead of the true one', async () => {
    const { c, a, b, joined, poll } = await twoProcesses()
    await poll(b, T0 + SECOND / 2)
    for (const j of joined.slice(4, 6)) await a.end(c, j.tokenId, 'LEFT', T0 + SECOND / 2, limits())
    expect(await a.tick(c, T0 + SECOND, limits({ strategy: 'rate', admitPerTick: 3 }))).toMatchObject({ admitted: 3 })
    const polled = await poll(b, T0 + SECOND)
    expect(polled.slice(0, 6)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 1, 'EXPIRED', 'EXPIRED'])
    // The fans behind the leavers are 2nd to 5th: a place may count the two leavers a while, never fewer than are ahead.
    polled.slice(6).forEach((place, i) => {
      expect(place).toBeGreaterThanOrEqual(i + 2)
      expect(place).toBeLessThanOrEqual(i + 4)
    })
  })

  it('when many gate checks of one concert arrive at once, then each slides, ends or places its own entry', async () => {
    const c = await sut.newConcert()
    const other = await sut.newConcert()
    const l = limits({ strategy: 'rate', admitPerTick: 3, activeIdleS: 100, activeMaxS: 1000 })
    const joined: JoinResult[] = []
    for (let i = 0; i < 5; i++) joined.push(await join(c, T0, l))
    const elsewhere = await join(other, T0, l)
    await store.tick(c, T0 + SECOND, l)
    // The first admitted slides at 50 s; at 150 s the other two are past their idle limit.
    expect(await store.touch(c, joined[0]!.tokenId, T0 + 50 * SECOND, l)).toEqual({ state: 'ACTIVE', activeUntil: T0 + 150 * SECOND })
    const now = T0 + 120 * SECOND
    const tokens = [joined[0]!.tokenId, joined[1]!.tokenId, joined[0]!.tokenId, joined[3]!.tokenId, elsewhere.tokenId, token()]
    const states = await Promise.all(tokens.map((t) => store.touch(c, t, now, l)))
    expect(states).toEqual([
      { state: 'ACTIVE', activeUntil: now + 100 * SECOND },
      { state: 'EXPIRED', reason: 'ACTIVE_IDLE' },
      { state: 'ACTIVE', activeUntil: now + 100 * SECOND },
      { state: 'WAITING', position: 1 },
      { state: 'EXPIRED', reason: null },
      { state: 'EXPIRED', reason: null },
    ])
    expect((await store.figures(c, now, l)).active).toBe(1)
  })

  it('when 2,000 users join in turn, then admission follows joining order exactly', async () => {
    const c = await sut.newConcert()
    const tokens: string[] = []
    for (let i = 0; i < 2000; i++) tokens.push((await join(c)).tokenId)
    const l = limits({ strategy: 'rate', admitPerTick: 500 })
    for (let tick = 1; tick <= 4; tick++) {
      const now = T0 + tick * SECOND
      expect(await store.tick(c, now, l)).toMatchObject({ ran: true, admitted: 500 })
      const boundary = tick * 500
      expect((await store.peek(c, tokens[boundary - 1]!, now)).state).toBe('ACTIVE')
      if (boundary < 2000) expect(positionOf(await store.peek(c, tokens[boundary]!, now))).toBe(1)
    }
    const states = await Promise.all(tokens.map((t) => store.peek(c, t, T0 + 4 * SECOND)))
    expect(states.every((s) => s.state === 'ACTIVE')).toBe(true)
  })

  it('when the pre-queue opens the sale, then pre-queue joiners come first, in shuffled order, then FIFO', async () => {
    const c = await sut.newConcert()
    const pre = []
    for (let i = 0; i < 50; i++) pre.push(await join(c, T0, limits(), user(), -randomInt(1, 2 ** 48 - 1)))
    const late = [await join(c, T0 + SECOND), await join(c, T0 + 2 * SECOND)]
    const now = T0 + 3 * SECOND
    const prePositions = await Promise.all(pre.map(async (j) => positionOf(await store.peek(c, j.tokenId, now))))
    expect([...prePositions].sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    // 50 joiners keeping their joining order by chance: about 1 in 50! — a shuffle shows.
    expect(prePositions).not.toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    expect(positionOf(await store.peek(c, late[0]!.tokenId, now))).toBe(51)
    expect(positionOf(await store.peek(c, late[1]!.tokenId, now))).toBe(52)
  })

  it('when the rate strategy ticks, then it admits admitPerTick once per tick window, whatever is active', async () => {
    const c = await sut.newConcert()
    for (let i = 0; i < 10; i++) await join(c)
    const l = limits({ strategy: 'rate', admitPerTick: 3, maxActive: 1 })
    expect(await store.tick(c, T0 + 1000, l)).toEqual({ ran: true, admitted: 3, expired: 0 })
    expect(await store.tick(c, T0 + 1999, l)).toEqual({ ran: false, admitted: 0, expired: 0 })
    expect(await store.tick(c, T0 + 2000, l)).toEqual({ ran: true, admitted: 3, expired: 0 })
    expect((await store.figures(c, T0 + 2000, l)).active).toBe(6)
  })

  it('when the cap strategy ticks, then it fills free slots only, and a freed slot goes to the next at once', async () => {
    const c = await sut.newConcert()
    const joined = []
    for (let i = 0; i < 6; i++) joined.push(await join(c))
    const l = limits({ strategy: 'cap', maxActive: 4 })
    expect((await store.tick(c, T0 + 1000, l)).admitted).toBe(4)
    expect((await store.tick(c, T0 + 2000, l)).admitted).toBe(0)
    expect(await store.end(c, joined[1]!.tokenId, 'PAID', T0 + 2500, l)).toBe(true)
    expect((await store.peek(c, joined[4]!.tokenId, T0 + 2500)).state).toBe('ACTIVE')
    expect(positionOf(await store.peek(c, joined[5]!.tokenId, T0 + 2500))).toBe(1)
    expect((await store.figures(c, T0 + 2500, l)).active).toBe(4)
  })

  it('when the hybrid strategy ticks, then it admits up to admitPerTick without passing maxActive', async () => {
    const c = await sut.newConcert()
    for (let i = 0; i < 10; i++) await join(c)
    const l = limits({ strategy: 'hybrid', admitPerTick: 3, maxActive: 5 })
    expect((await store.tick(c, T0 + 1000, l)).admitted).toBe(3)
    expect((await store.tick(c, T0 + 2000, l)).admitted).toBe(2)
    expect((await store.tick(c, T0 + 3000, l)).admitted).toBe(0)
  })

  it('when admission is paused, then no one is admitted and leaving frees no slot to the next', async () => {
    const c = await sut.newConcert()
    const a = await join(c)
    await join(c)
    const paused = limits({ strategy: 'cap', maxActive: 1, paused: true })
    expect((await store.tick(c, T0 + 1000, paused)).admitted).toBe(0)
    expect((await store.tick(c, T0 + 2000, limits({ strategy: 'cap', maxActive: 1 }))).admitted).toBe(1)
    await store.end(c, a.tokenId, 'LEFT', T0 + 2500, paused)
    expect((await store.figures(c, T0 + 2500, paused)).active).toBe(0)
  })

  it('when an admitted user keeps using the gate, then the admission slides but never past the hard limit', async () => {
    const c = await sut.newConcert()
    const a = await join(c)
    const l = limits({ activeIdleS: 100, activeMaxS: 250 })
    await store.tick(c, T0 + 1000, l)
    expect(await store.touch(c, a.tokenId, T0 + 50 * SECOND, l)).toEqual({ state: 'ACTIVE', activeUntil: T0 + 150 * SECOND })
    expect(await store.touch(c, a.tokenId, T0 + 140 * SECOND, l)).toEqual({ state: 'ACTIVE', activeUntil: T0 + 240 * SECOND })
    expect(await store.touch(c, a.tokenId, T0 + 230 * SECOND, l)).toEqual({ state: 'ACTIVE', activeUntil: T0 + 251 * SECOND })
    expect(await store.touch(c, a.tokenId, T0 + 251 * SECOND, l)).toEqual({ state: 'EXPIRED', reason: 'HARD_LIMIT' })
  })

  it('when an admitted user goes idle, then the token ends with no loop running and the slot is free', async () => {
    const c = await sut.newConcert()
    const a = await join(c)
    const b = await join(c)
    const l = limits({ strategy: 'cap', maxActive: 1, activeIdleS: 60 })
    await store.tick(c, T0 + 1000, l)
    expect((await store.status(c, a.tokenId, T0 + 60 * SECOND, l, live)).state).toBe('ACTIVE')
    expect(await store.touch(c, a.tokenId, T0 + 61 * SECOND, l)).toEqual({ state: 'EXPIRED', reason: 'ACTIVE_IDLE' })
    expect(await store.status(c, a.tokenId, T0 + 61 * SECOND, l, live)).toEqual({ state: 'EXPIRED', reason: 'ACTIVE_IDLE' })
    expect((await store.figures(c, T0 + 61 * SECOND, l)).active).toBe(0)
    expect((await store.tick(c, T0 + 62 * SECOND, l)).admitted).toBe(1)
    expect((await store.peek(c, b.tokenId, T0 + 62 * SECOND)).state).toBe('ACTIVE')
  })

  it('when a waiting user stops polling, then they lose the place and leave the count and admission', async () => {
    const c = await sut.newConcert()
    const l = limits({ waitingIdleS: 60, strategy: 'rate', admitPerTick: 1 })
    const quiet = await join(c, T0, l)
    const polling = await join(c, T0, l)
    expect((await store.status(c, polling.tokenId, T0 + 50 * SECOND, l, live)).state).toBe('WAITING')
    const later = T0 + 61 * SECOND
    expect(await store.status(c, quiet.tokenId, later, l, live)).toEqual({ state: 'EXPIRED', reason: 'WAITING_IDLE' })
    expect((await store.figures(c, later, l)).waiting).toBe(1)
    await store.tick(c, later, l)
    expect((await store.peek(c, polling.tokenId, later)).state).toBe('ACTIVE')
    // Rejoining after losing the place goes to the back with a new token.
    const back = await store.join(c, 'someone', token(), nextKey(), later, l)
    expect(back.created).toBe(true)
  })

  it('when the line loses its data, then fans who poll again are put back in their order, unless they joined again since', async () => {
    const c = await sut.newConcert()
    const users = Array.from({ length: 5 }, () => user())
    const joined: JoinResult[] = []
    for (const u of users) joined.push(await join(c, T0, limits(), u))
    await sut.loseData(c)
    const poll = (i: number) => store.status(c, joined[i]!.tokenId, T0 + SECOND, limits(), entryOf(users[i]!, joined[i]!))
    // They come back in another order; each takes the place its token's order key gives it.
    expect(await poll(4)).toEqual({ state: 'WAITING', position: 1 })
    expect(await poll(1)).toEqual({ state: 'WAITING', position: 1 })
    expect(await poll(3)).toEqual({ state: 'WAITING', position: 2 })
    expect(positionOf(await store.peek(c, joined[4]!.tokenId, T0 + SECOND))).toBe(3)
    // A fan who joined again after the loss keeps the new entry; the old token is not put back.
    const rejoined = await store.join(c, users[0]!, token(), nextKey(), T0 + SECOND, limits())
    expect(rejoined.created).toBe(true)
    expect(await poll(0)).toEqual({ state: 'EXPIRED', reason: null })
    expect((await store.figures(c, T0 + SECOND, limits())).waiting).toBe(4)
  })

  it('when a waiting user leaves, then everyone behind moves up at once and leaving again changes nothing', async () => {
    const c = await sut.newConcert()
    const a = await join(c)
    const b = await join(c)
    const cc = await join(c)
    expect(await store.end(c, a.tokenId, 'LEFT', T0, limits())).toBe(true)
    expect(positionOf(await store.peek(c, b.tokenId, T0))).toBe(1)
    expect(positionOf(await store.peek(c, cc.tokenId, T0))).toBe(2)
    expect(await store.end(c, a.tokenId, 'LEFT', T0, limits())).toBe(false)
    expect(await store.peek(c, a.tokenId, T0)).toEqual({ state: 'EXPIRED', reason: 'LEFT' })
  })

  it('when a user rejoins after their token ended, then they get a new token at the back', async () => {
    const c = await sut.newConcert()
    const u = user()
    const first = await join(c, T0, limits(), u)
    await join(c)
    await store.end(c, first.tokenId, 'LEFT', T0, limits())
    const again = await store.join(c, u, token(), nextKey(), T0 + SECOND, limits())
    expect(again.created).toBe(true)
    expect(again.tokenId).not.toBe(first.tokenId)
    expect(positionOf(again.state)).toBe(2)
  })

  it('when users are admitted, then the figures count them with their median wait', async () => {
    const c = await sut.newConcert()
    const l = limits({ strategy: 'rate', admitPerTick: 2 })
    await join(c, T0)
    await join(c, T0 + 10 * SECOND)
    await join(c, T0 + 20 * SECOND)
    await store.tick(c, T0 + 40 * SECOND, l)
    const figures = await store.figures(c, T0 + 40 * SECOND, l)
    expect(figures).toEqual({ waiting: 1, active: 2, admittedLastMinute: 2, p50WaitSeconds: 35 })
    expect(await store.recentAdmissions(c, T0 + 50 * SECOND)).toEqual({
      admittedLastMinute: 2,
      firstAdmittedAt: T0 + 40 * SECOND,
      active: 2,
    })
    expect((await store.figures(c, T0 + 101 * SECOND, l)).admittedLastMinute).toBe(0)
    expect(await store.recentAdmissions(c, T0 + 101 * SECOND)).toEqual({ admittedLastMinute: 0, firstAdmittedAt: null, active: 2 })
  })

  it('when a fan joins, then the concert is listed as live on every connection at once, and a concert no one joined is not', async () => {
    const c = await sut.newConcert()
    const idle = await sut.newConcert()
    await sut.stores[1]!.join(c, user(), token(), nextKey(), T0, limits())
    for (const s of sut.stores) {
      const live = await s.liveConcerts()
      expect(live).toContain(c)
      expect(live).not.toContain(idle)
    }
  })

  it('when a line empties, then its concert leaves the list by the next tick, and a join lists it again', async () => {
    const c = await sut.newConcert()
    const l = limits({ strategy: 'rate', admitPerTick: 1, activeIdleS: 60 })
    const admitted = await join(c, T0, l)
    const waiting = await join(c, T0, l)
    await store.tick(c, T0 + SECOND, l)
    await store.end(c, waiting.tokenId, 'LEFT', T0 + SECOND, l)
    await store.tick(c, T0 + 2 * SECOND, l)
    // An admitted fan is still in line.
    expect(await store.liveConcerts()).toContain(c)
    expect((await store.peek(c, admitted.tokenId, T0 + 2 * SECOND)).state).toBe('ACTIVE')
    // The admission lapses unused; the tick ends it and leaves the line empty.
    expect(await store.tick(c, T0 + 62 * SECOND, l)).toMatchObject({ ran: true, expired: 1 })
    expect(await store.liveConcerts()).not.toContain(c)
    await join(c, T0 + 63 * SECOND, l)
    expect(await store.liveConcerts()).toContain(c)
  })

  it('when fans join while ticks on other connections find the line empty, then every one of them stays listed and is admitted', async () => {
    const c = await sut.newConcert()
    const l = limits({ strategy: 'rate', admitPerTick: 10, tickMs: 100 })
    const n = sut.stores.length
    let now = T0
    for (let round = 0; round < 40; round++) {
      now += l.tickMs
      // The line is empty: the tick unlists the concert unless the join comes first.
      const [, fan] = await Promise.all([
        sut.stores[round % n]!.tick(c, now, l),
        sut.stores[(round + 1) % n]!.join(c, user(), token(), nextKey(), now, l),
      ])
      expect(await sut.stores[(round + 2) % n]!.liveConcerts()).toContain(c)
      // What the admission loop does: tick what is listed.
      now += l.tickMs
      for (const listed of await store.liveConcerts()) if (listed === c) await store.tick(c, now, l)
      expect((await store.peek(c, fan.tokenId, now)).state).toBe('ACTIVE')
      expect(await store.end(c, fan.tokenId, 'PAID', now, l)).toBe(true)
    }
  })

  it('when a line loses its data, then fans who poll again keep its concert listed, and once they are gone it leaves the list', async () => {
    const c = await sut.newConcert()
    const users = [user(), user()]
    const joined = [await join(c, T0, limits(), users[0]), await join(c, T0, limits(), users[1])]
    await store.tick(c, T0 + SECOND, limits({ strategy: 'rate', admitPerTick: 1 }))
    await sut.loseData(c)
    const back = await store.status(c, joined[1]!.tokenId, T0 + 2 * SECOND, limits(), entryOf(users[1]!, joined[1]!))
    expect(back).toEqual({ state: 'WAITING', position: 1 })
    // The loop reads the list, then ticks what it lists.
    expect(await store.liveConcerts()).toContain(c)
    await store.end(c, joined[1]!.tokenId, 'LEFT', T0 + 2 * SECOND, limits())
    await store.tick(c, T0 + 3 * SECOND, limits())
    expect(await store.liveConcerts()).not.toContain(c)
  })

  it('when every process adds its booking health, then one of them, once, takes the window merged, and all read its decision', async () => {
    const c = await sut.newConcert()
    const l = limits({ strategy: 'rate', admitPerTick: 2 })
    const window = T0 / ADAPTIVE_WINDOW_MS
    for (let i = 0; i < 3; i++) await join(c, T0, l)
    await store.tick(c, T0, l)
    // Each process's counts of the window: answers in buckets 3 and 10, one of them failed on the
    // last; each served as many purchases as its number.
    await Promise.all(
      sut.stores.map((s, i) => {
        const counts = emptyCounts()
        counts.buckets[3] = i + 1
        counts.buckets[10] = 2
        counts.errors = i === sut.stores.length - 1 ? 1 : 0
        counts.served = i + 1
        return s.addHealth(c, window, counts)
      }),
    )
    // A later window's counts are kept apart.
    await store.addHealth(c, window + 1, { ...emptyCounts(), errors: 5 })

    const taken = await Promise.all(sut.stores.map((s) => s.takeWindow(c, window)))
    const winners = taken.filter((t) => t !== undefined)
    expect(winners).toHaveLength(1)
    const expected = emptyCounts()
    expected.buckets[3] = 1 + 2 + 3 + 4
    expected.buckets[10] = 8
    expected.errors = 1
    expected.served = 1 + 2 + 3 + 4
    expect(winners[0]).toEqual({ counts: expected, admitted: 2, waiting: 1 })
    expect(await sut.stores[1]!.takeWindow(c, window)).toBeUndefined()
    expect(await sut.stores[2]!.takeWindow(c, window - 1)).toBeUndefined()

    expect(await sut.stores[3]!.lastDecision(c)).toBeNull()
    const decision = {
      window,
      admitPerTick: 3,
      reason: 'headroom' as const,
      latencyP90Ms: 12.5,
      errorRate: 1 / 18,
      servedPerTick: 5,
      cut: false,
      ceiling: 40,
      cutWindow: window - 4,
      words: 'p90 13 ms, under the 250 ms target: up to 3 a tick',
      decidedAt: T0 + 3000,
    }
    await store.saveDecision(c, decision)
    expect(await sut.stores[3]!.lastDecision(c)).toEqual(decision)
    // A decision on a window taken over since is not kept; the next window's is.
    const next = await sut.stores[1]!.takeWindow(c, window + 1)
    expect(next?.counts.errors).toBe(5)
    await store.saveDecision(c, { ...decision, admitPerTick: 99 })
    expect(await sut.stores[2]!.lastDecision(c)).toEqual(decision)
    await store.saveDecision(c, { ...decision, window: window + 1, admitPerTick: 1, reason: 'errors', cut: true, cutWindow: window + 1 })
    expect(await sut.stores[2]!.lastDecision(c)).toMatchObject({
      window: window + 1,
      admitPerTick: 1,
      reason: 'errors',
      cutWindow: window + 1,
    })
  })

  it('when no process had answers in a window, then its taker gets empty counts', async () => {
    const c = await sut.newConcert()
    const window = T0 / ADAPTIVE_WINDOW_MS + 7
    expect(await sut.stores[1]!.takeWindow(c, window)).toEqual({ counts: emptyCounts(), admitted: 0, waiting: 0 })
  })

  it('when many processes tick and free slots at once, then the cap is never exceeded and no one is admitted twice', async () => {
    const c = await sut.newConcert()
    const l = limits({ strategy: 'cap', maxActive: 10, tickMs: 50 })
    const tokens: string[] = []
    for (let i = 0; i < 60; i++) tokens.push((await join(c)).tokenId)
    let now = T0
    for (let round = 0; round < 5; round++) {
      now += 50
      const active = (await Promise.all(tokens.map(async (t) => ((await store.peek(c, t, now)).state === 'ACTIVE' ? t : null)))).filter(
        (t): t is string => t !== null,
      )
      await Promise.all([
        ...sut.stores.map((s) => s.tick(c, now, l)),
        ...active.slice(0, 5).map((t, i) => sut.stores[i % sut.stores.length]!.end(c, t, 'PAID', now, l)),
      ])
      expect((await store.figures(c, now, l)).active).toBeLessThanOrEqual(10)
    }
    const finalStates = await Promise.all(tokens.map((t) => store.peek(c, t, now)))
    expect(finalStates.filter((s) => s.state === 'ACTIVE')).toHaveLength(10)
  })
})

let addressSeq = 0
/** A limit of `perWindow` joins a window for a client address of its own. */
const limitOf = (perWindow: number, windowMs = MINUTE): JoinLimit => ({ address: `203.0.113.${++addressSeq}`, perWindow, windowMs })
/** How a store refuses a join `seconds` before its address's window ends. */
const refused = (seconds: number) => ({ code: 'RATE_LIMITED', extra: { retryAfterSeconds: seconds } })

describe.each(queueStoreTargets)('a join limit per client address on $name', (target) => {
  let sut: StoreUnderTest
  let store: QueueStore
  beforeAll(async () => {
    sut = await target.open(3)
    store = sut.stores[0]!
  })
  afterAll(() => sut.close())

  /** A new fan joins, counted against `limit`. */
  const joinAs = (concertId: string, limit: JoinLimit, now: number) =>
    store.join(concertId, user(), token(), nextKey(), now, limits(), limit)

  it('when an address joins past its limit, then the joins past it are refused with the time left in its window, until the window ends', async () => {
    const c = await sut.newConcert()
    const limit = limitOf(3)
    for (const s of [0, 10, 20]) expect((await joinAs(c, limit, T0 + s * SECOND)).created).toBe(true)
    await expect(joinAs(c, limit, T0 + 30 * SECOND)).rejects.toMatchObject(refused(30))
    await expect(joinAs(c, limit, T0 + MINUTE - 1)).rejects.toMatchObject(refused(1))
    // The window started at the first join: at its end a new one starts.
    expect((await joinAs(c, limit, T0 + MINUTE)).created).toBe(true)
    expect((await store.figures(c, T0 + MINUTE, limits())).waiting).toBe(4)
  })

  it('when one address is refused, then another address, the same address on another concert and a join without a limit still join', async () => {
    const [c, other] = [await sut.newConcert(), await sut.newConcert()]
    const limit = limitOf(1)
    await joinAs(c, limit, T0)
    await expect(joinAs(c, limit, T0)).rejects.toMatchObject(refused(60))
    expect((await joinAs(c, limitOf(1), T0)).created).toBe(true)
    expect((await joinAs(other, limit, T0)).created).toBe(true)
    expect((await store.join(c, user(), token(), nextKey(), T0, limits())).created).toBe(true)
  })

  it('when the limit refuses a join, then nothing but the count changes: no entry is made, and a fan in line is not marked as seen', async () => {
    const c = await sut.newConcert()
    const l = limits({ waitingIdleS: 300 })
    const limit = limitOf(1, 3600 * SECOND)
    const [quiet, polling, newcomer] = [user(), user(), user()]
    const q = await store.join(c, quiet, token(), nextKey(), T0, l, limit)
    const p = await store.join(c, polling, token(), nextKey(), T0, l)
    const later = T0 + 200 * SECOND
    await expect(store.join(c, quiet, token(), nextKey(), later, l, limit)).rejects.toMatchObject({ code: 'RATE_LIMITED' })
    await expect(store.join(c, newcomer, token(), nextKey(), later, l, limit)).rejects.toMatchObject({ code: 'RATE_LIMITED' })
    expect(await store.rejoin(c, newcomer, later, l)).toBeUndefined()
    // A join that is not refused marks its fan as seen, as a poll does.
    expect((await store.join(c, polling, token(), nextKey(), later, l)).tokenId).toBe(p.tokenId)
    const pastIdle = T0 + 301 * SECOND
    // Entries that are live: what their tokens say is never used.
    const entry = { userId: 'usr_live', joinedAt: T0, orderKey: 0 }
    expect(await store.status(c, q.tokenId, pastIdle, l, entry)).toEqual({ state: 'EXPIRED', reason: 'WAITING_IDLE' })
    expect(await store.status(c, p.tokenId, pastIdle, l, entry)).toEqual({ state: 'WAITING', position: 1 })
  })

  it('when a fan in line joins again, then it counts like any join and gives back the same entry; a rejoin counts too', async () => {
    const c = await sut.newConcert()
    const limit = limitOf(3)
    const fan = user()
    const first = await store.join(c, fan, token(), nextKey(), T0, limits(), limit)
    expect(await store.join(c, fan, token(), nextKey(), T0 + SECOND, limits(), limit)).toMatchObject({
      tokenId: first.tokenId,
      created: false,
    })
    expect(await store.rejoin(c, fan, T0 + 2 * SECOND, limits(), limit)).toMatchObject({ tokenId: first.tokenId, created: false })
    await expect(store.rejoin(c, fan, T0 + 3 * SECOND, limits(), limit)).rejects.toMatchObject(refused(57))
    await expect(joinAs(c, limit, T0 + 3 * SECOND)).rejects.toMatchObject(refused(57))
    expect((await store.figures(c, T0 + 3 * SECOND, limits())).waiting).toBe(1)
  })

  it('when joins of several addresses arrive at once, shuffled, on several connections, then each address gets exactly its limit', async () => {
    const c = await sut.newConcert()
    const addresses = Array.from({ length: 6 }, () => limitOf(7))
    const calls = addresses
      .flatMap((limit) => Array.from({ length: 20 }, () => ({ limit, order: randomInt(1e9) })))
      .sort((a, b) => a.order - b.order)
      .map((call) => call.limit)
    const answers = await Promise.allSettled(
      calls.map((limit, i) => sut.stores[i % sut.stores.length]!.join(c, user(), token(), nextKey(), T0, limits(), limit)),
    )
    for (const limit of addresses) {
      const mine = answers.filter((_, i) => calls[i] === limit)
      expect(mine.filter((a) => a.status === 'fulfilled')).toHaveLength(7)
      expect(mine.flatMap((a) => (a.status === 'rejected' ? [a.reason.code] : []))).toEqual(Array(13).fill('RATE_LIMITED'))
    }
    expect((await store.figures(c, T0, limits())).waiting).toBe(42)
  })
})

// A store of its own: the database forgets ended windows of any concert.
describe.each(queueStoreTargets.filter((t) => t.name !== 'redis-cluster'))('the join windows a store keeps on $name', (target) => {
  let sut: StoreUnderTest
  beforeAll(async () => {
    sut = await target.open(1)
  })
  afterAll(() => sut.close())

  it('when windows end and others start, then each window started forgets two that have ended, and open ones are kept', async () => {
    const store = sut.stores[0]!
    const c = await sut.newConcert()
    const addresses = Array.from({ length: 10 }, () => limitOf(5))
    const joinFrom = (limit: JoinLimit, now: number) => store.join(c, user(), token(), nextKey(), now, limits(), limit)
    for (const limit of addresses.slice(0, 6)) await joinFrom(limit, T0)
    expect(await sut.joinWindows(c)).toBe(6)
    // Counting in an open window forgets nothing.
    await joinFrom(addresses[0]!, T0 + SECOND)
    expect(await sut.joinWindows(c)).toBe(6)
    const kept = []
    for (const limit of addresses.slice(6)) {
      await joinFrom(limit, T0 + MINUTE)
      kept.push(await sut.joinWindows(c))
    }
    expect(kept).toEqual([5, 4, 3, 4])
  })
})

/**
 * Holds the store's next removal of a concert from the list of live ones, which its tick sends
 * after finding the line empty, until released: the moment a join on another connection can fall
 * between the two. `instead` runs in place of the removal (a negative control's).
 */
function holdNextRemoval(store: RedisQueueStore, instead?: () => Promise<unknown>) {
  const client = store.redis as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
  const name = Object.keys(client).find((k) => k.endsWith('_unlist'))!
  const unlist = client[name]!
  let reached!: () => void
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  const arrived = new Promise<void>((r) => (reached = r))
  client[name] = async (...args: unknown[]) => {
    client[name] = unlist
    reached()
    await released
    return instead ? instead() : unlist.apply(client, args)
  }
  return { arrived, release }
}

describe.each(queueStoreTargets.filter((t) => t.name.startsWith('redis')))('the list of live concerts on $name', (target) => {
  let sut: StoreUnderTest
  beforeAll(async () => {
    sut = await target.open(3)
  })
  afterAll(() => sut.close())

  const l = limits({ strategy: 'rate', admitPerTick: 10 })

  /** A fan joins through one connection while another's tick has found the line empty and has not yet removed the concert. */
  const joinDuringRemoval = async (instead?: (ticker: RedisQueueStore, concertId: string) => Promise<unknown>) => {
    const [joiner, ticker, reader] = sut.stores as RedisQueueStore[]
    const c = await sut.newConcert()
    const first = await joiner!.join(c, user(), token(), nextKey(), T0, l)
    await joiner!.end(c, first.tokenId, 'LEFT', T0, l)
    const held = holdNextRemoval(ticker!, instead && (() => instead(ticker!, c)))
    const tick = ticker!.tick(c, T0 + SECOND, l)
    await held.arrived
    const fan = await joiner!.join(c, user(), token(), nextKey(), T0 + SECOND, l)
    held.release()
    await tick
    const listed = (await reader!.liveConcerts()).includes(c)
    // What the admission loop does next: tick what is listed.
    if (listed) await reader!.tick(c, T0 + 2 * SECOND, l)
    return { listed, fan: await reader!.peek(c, fan.tokenId, T0 + 2 * SECOND) }
  }

  it('when a fan joins between the tick that finds the line empty and its removal, then the concert stays listed and the fan is admitted', async () => {
    const { listed, fan } = await joinDuringRemoval()
    expect(listed).toBe(true)
    expect(fan.state).toBe('ACTIVE')
  })

  it('negative control: when the removal does not check the generation, then the same join leaves the fan waiting on an unlisted concert', async () => {
    const { listed, fan } = await joinDuringRemoval((ticker, c) => ticker.redis.zrem(ticker.liveKey, c))
    expect(listed).toBe(false)
    expect(fan).toEqual({ state: 'WAITING', position: 1 })
  })

  it('when a line empties, then what Redis keeps of it expires by itself, until someone joins again', async () => {
    const store = sut.stores[0] as RedisQueueStore
    const c = await sut.newConcert()
    const fan = await store.join(c, user(), token(), nextKey(), T0, l)
    await store.tick(c, T0 + SECOND, l)
    await store.end(c, fan.tokenId, 'PAID', T0 + 2 * SECOND, l)
    const ttls = () => Promise.all((['ended', 'reasons', 'admitted'] as const).map((k) => store.redis.pttl(store.key(c, k))))
    expect(await ttls()).toEqual([-1, -1, -1])
    await store.tick(c, T0 + 3 * SECOND, l)
    const [ended, reasons, admitted] = await ttls()
    // Why a token ended is kept as long as any token lives; the admissions for the minute they count.
    expect(ended).toBeGreaterThan(24 * 3600 * 1000)
    expect(reasons).toBeGreaterThan(24 * 3600 * 1000)
    expect(admitted).toBeGreaterThan(0)
    expect(admitted).toBeLessThanOrEqual(60_000)
    await store.join(c, user(), token(), nextKey(), T0 + 4 * SECOND, l)
    expect(await ttls()).toEqual([-1, -1, -1])
    expect(await store.peek(c, fan.tokenId, T0 + 4 * SECOND)).toEqual({ state: 'EXPIRED', reason: 'PAID' })
  })

  it('when nobody joins a concert any more, then its join windows expire by themselves, when the last one started ends', async () => {
    const store = sut.stores[0] as RedisQueueStore
    const c = await sut.newConcert()
    await store.join(c, user(), token(), nextKey(), T0, l, limitOf(5, 30 * SECOND))
    const ttls = await Promise.all((['joins', 'joinwindows'] as const).map((k) => store.redis.pttl(store.key(c, k))))
    for (const ttl of ttls) {
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(30 * SECOND)
    }
  })

  it('when the list itself is lost, then a poll of a fan in line lists the concert again on the next read', async () => {
    const store = sut.stores[0] as RedisQueueStore
    const c = await sut.newConcert()
    const fan = await store.join(c, user(), token(), nextKey(), T0, l)
    await store.redis.unlink(store.liveKey)
    expect(await sut.stores[1]!.liveConcerts()).not.toContain(c)
    expect((await store.status(c, fan.tokenId, T0 + SECOND, l, { userId: 'usr_live', joinedAt: T0, orderKey: 0 })).state).toBe('WAITING')
    expect(await store.liveConcerts()).toContain(c)
    expect(await sut.stores[1]!.liveConcerts()).toContain(c)
  })
})

describe.each(queueStoreTargets.filter((t) => t.name.startsWith('redis')))('the relief of a long line on $name', (target) => {
  let sut: StoreUnderTest
  beforeAll(async () => {
    sut = await target.open(2)
  })
  afterAll(() => sut.close())

  // Admission at 10 a second: a poll that could be within 50 places of the front runs the status script.
  const l = limits({ strategy: 'rate', admitPerTick: 10, waitingIdleS: 60 })
  const nearFront = NEAR_FRONT_S * 10

  /** A fan as the queue service makes one (its order key is its join's time), and what its token says. */
  const joinAt = async (store: QueueStore, c: string, now: number, s = l) => {
    const userId = user()
    const joined = await store.join(c, userId, token(), now * 1000 + (++arrivals % 1000), now, s)
    return { tokenId: joined.tokenId, entry: { userId, joinedAt: joined.joinedAt, orderKey: joined.orderKey } }
  }
  type Fan = Awaited<ReturnType<typeof joinAt>>

  /**
   * A line of `n` fans joined 10 ms apart through one process; the other (the relieved one) ticks
   * (admitting 10) and copies the line at `copyAt`, 2 s after the last join.
   */
  const longLine = async (n: number, s = l) => {
    const [relieved, other] = sut.stores as [RedisQueueStore, RedisQueueStore]
    const c = await sut.newConcert()
    const fans: Fan[] = []
    for (let i = 0; i < n; i++) fans.push(await joinAt(other, c, T0 + i * 10, s))
    const copyAt = T0 + n * 10 + 2 * SECOND
    await relieved.tick(c, copyAt, s)
    await relieved.copyLine(c, copyAt)
    return { c, relieved, other, fans, copyAt }
  }
  const poll = (store: QueueStore, c: string, fan: Fan, now: number, s = l) => store.status(c, fan.tokenId, now, s, fan.entry)
  const truth = (c: string, fan: Fan, now: number) => sut.stores[1]!.peek(c, fan.tokenId, now)
  const positionOf = (s: EntryState) => (s.state === 'WAITING' ? s.position : s.state)
  const seenOf = (store: RedisQueueStore, c: string, fan: Fan) => store.redis.zscore(store.key(c, 'seen'), fan.tokenId)

  it('when fans left and joined since the copy, then a position from it is never below the true one, and above it by at most the counted leavers and same-second joins', async () => {
    const { c, relieved, other, fans, copyAt } = await longLine(300)
    const leavers = fans.filter((_, i) => i >= 20 && i % 10 === 3).slice(0, 20)
    for (const fan of leavers) await other.end(c, fan.tokenId, 'LEFT', copyAt + 100, l)
    // 30 joins within one second after the copy: each may sort ahead of a later one of its second.
    const late: Fan[] = []
    for (let i = 0; i < 30; i++) late.push(await joinAt(other, c, copyAt + 500 + i * 10))
    const readAt = copyAt + 3 * SECOND
    await relieved.tick(c, readAt, l)
    const everyone = [...fans.filter((f) => !leavers.includes(f)), ...late]
    const answers = await Promise.all(everyone.map((f) => poll(relieved, c, f, readAt + 100)))
    const truths = await Promise.all(everyone.map((f) => truth(c, f, readAt + 100)))
    expect(relieved.relief.pendingBeats(c)).toBeGreaterThan(200)
    let above = 0
    everyone.forEach((fan, i) => {
      const [answer, exact] = [answers[i]!, truths[i]!]
      if (exact.state !== 'WAITING') {
        expect(answer).toEqual(exact)
        return
      }
      expect(answer.state).toBe('WAITING')
      const position = positionOf(answer) as number
      expect(position).toBeGreaterThanOrEqual(exact.position)
      expect(position - exact.position).toBeLessThanOrEqual(leavers.length + (late.includes(fan) ? late.length : 0))
      if (position > exact.position) above++
    })
    // The correction is at work: some fans behind the leavers are placed above their true position.
    expect(above).toBeGreaterThan(0)
  })

  it('when the line moves and fans keep joining, then a fan near the front always gets its exact position and learns of its admission at its next poll', async () => {
    const { c, relieved, other, fans, copyAt } = await longLine(150)
    const pollers = [...fans]
    let fromCopy = 0
    for (let k = 1; k <= 30; k++) {
      const now = copyAt + k * SECOND
      await relieved.tick(c, now, l)
      const answers = await Promise.all(pollers.map((f) => poll(relieved, c, f, now + 100)))
      fromCopy += relieved.relief.pendingBeats(c)
      const truths = await Promise.all(pollers.map((f) => truth(c, f, now + 100)))
      pollers.forEach((_, i) => {
        const [answer, exact] = [answers[i]!, truths[i]!]
        if (exact.state !== 'WAITING' || exact.position <= nearFront) expect(answer).toEqual(exact)
        else expect(positionOf(answer)).toBeGreaterThanOrEqual(exact.position)
      })
      // As many join as are admitted, after the copy: they come to the front while it is still in use.
      if (k <= 15) for (let i = 0; i < 10; i++) pollers.push(await joinAt(other, c, now + 300 + i * 10))
    }
    expect(fromCopy).toBeGreaterThan(500)
    expect((await truth(c, pollers.at(-1)!, copyAt + 31 * SECOND)).state).toBe('ACTIVE')
  })

  it('when a fan only ever polls through heartbeats, then it keeps its place past the waiting idle limit, and a fan who stops polling does not', async () => {
    const paused = limits({ strategy: 'rate', admitPerTick: 10, waitingIdleS: 30, paused: true })
    const { c, relieved, fans, copyAt } = await longLine(100, paused)
    const [silent, ...pollers] = fans
    const fan = pollers.at(-1)!
    for (let now = copyAt + 5 * SECOND; now <= copyAt + 90 * SECOND; now += 5 * SECOND) {
      await relieved.tick(c, now, paused)
      const before = await seenOf(relieved, c, fan)
      await Promise.all(pollers.map((f) => poll(relieved, c, f, now + 100, paused)))
      // Answered from the copy: the poll itself wrote nothing; the next tick's heartbeat does.
      expect(await seenOf(relieved, c, fan)).toBe(before)
      await relieved.tick(c, now + 200, paused)
      expect(Number(await seenOf(relieved, c, fan))).toBe(now + 100)
    }
    const end = copyAt + 91 * SECOND
    expect(await truth(c, fan, end)).toEqual({ state: 'WAITING', position: 99 })
    expect(await truth(c, silent!, end)).toEqual({ state: 'EXPIRED', reason: 'WAITING_IDLE' })
  })

  /** Two far-back fans poll the relieved process; before its heartbeats go, one leaves and the other is admitted through the other process. */
  const leaveAndAdmitBeforeTheHeartbeat = async () => {
    const { c, relieved, other, fans, copyAt } = await longLine(300)
    const [admitted, leaver] = [fans[100]!, fans[250]!]
    await Promise.all([admitted, leaver].map((f) => poll(relieved, c, f, copyAt + 100)))
    expect(relieved.relief.pendingBeats(c)).toBe(2)
    await other.end(c, leaver.tokenId, 'LEFT', copyAt + 200, l)
    expect(await other.tick(c, copyAt + SECOND, limits({ strategy: 'rate', admitPerTick: 200 }))).toMatchObject({ admitted: 200 })
    return { c, relieved, admitted, leaver, at: copyAt + SECOND }
  }

  it('when a fan left or was admitted after its poll, then the heartbeat does not put it back, and its next poll says why it ended', async () => {
    const { c, relieved, admitted, leaver, at } = await leaveAndAdmitBeforeTheHeartbeat()
    expect(await relieved.tick(c, at + 100, l)).toMatchObject({ ran: false })
    expect(await seenOf(relieved, c, admitted)).toBeNull()
    expect(await seenOf(relieved, c, leaver)).toBeNull()
    expect((await relieved.figures(c, at + 100, l)).waiting).toBe(300 - 10 - 200 - 1)
    expect((await poll(relieved, c, admitted, at + 200)).state).toBe('ACTIVE')
    expect(await poll(relieved, c, leaver, at + 200)).toEqual({ state: 'EXPIRED', reason: 'LEFT' })
  })

  it('negative control: when the heartbeat is a ZADD without XX, then it puts both back in the count of the line', async () => {
    const { c, relieved, at } = await leaveAndAdmitBeforeTheHeartbeat()
    const beats = relieved.relief.takeBeats(c).map(([tokenId, now]) => [tokenId, now] as [string, number])
    await heartbeatWithoutXX(relieved.redis, relieved.key(c, 'seen'), beats)
    expect((await relieved.figures(c, at + 100, l)).waiting).toBe(300 - 10 - 200 - 1 + 2)
  })
})
