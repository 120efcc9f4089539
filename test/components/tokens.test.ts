import { describe, expect, it } from 'vitest'
import { TokenSigner } from '../../src/platform/signer.js'
import { ManualClock } from '../support/clock.js'

const SECRET = 'token-test-secret-token-test-secret-0123'
const segments = (token: string) => token.split('.')
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

describe('compact signed tokens', () => {
  const clock = new ManualClock()
  const signer = new TokenSigner(SECRET, clock)
  // A second signer with the same secret has not seen the tokens: it checks every signature.
  const fresh = () => new TokenSigner(SECRET, clock)

  it('when a token is signed, then it reads back with its claims on any process that shares the secret', () => {
    const token = signer.sign('queue', 'usr_1', { cid: 'con_1', jti: 'qt_1' }, 600)
    expect(token).toMatch(/^sd1\.queue\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/)
    expect(fresh().verify('queue', token)).toMatchObject({ sub: 'usr_1', cid: 'con_1', jti: 'qt_1' })
  })

  it('when far more tokens pass than are remembered, then each still reads back as its own, and a forged one is still refused', () => {
    // A reader that remembers two generations of 100 tokens, as the default does of 25,000.
    const reader = new TokenSigner(SECRET, clock, 100)
    const tokens = Array.from({ length: 600 }, (_, i) => signer.sign('queue', `usr_${i}`, { cid: 'con_1', jti: `qt_${i}` }, 600))
    for (const token of tokens) reader.verify('queue', token)
    // The first ones have been dropped by now: they are checked again, and hold.
    for (const i of [0, 1, 299, 599]) expect(reader.verify('queue', tokens[i]!)).toMatchObject({ sub: `usr_${i}`, jti: `qt_${i}` })
    const [prefix, typ, , mac] = segments(tokens[0]!)
    expect(reader.verify('queue', `${prefix}.${typ}.${encode({ cid: 'con_1', jti: 'qt_0', sub: 'usr_9', exp: 1e12 })}.${mac}`)).toBe(
      'invalid',
    )
  })

  it('when a token is tampered with, truncated, signed with another secret or relabelled as another kind, then it is refused', () => {
    const token = signer.sign('queue', 'usr_1', { cid: 'con_1', jti: 'qt_1' }, 600)
    const [prefix, typ, payload, mac] = segments(token)
    const otherUser = `${prefix}.${typ}.${encode({ cid: 'con_1', jti: 'qt_1', sub: 'usr_2', exp: JSON.parse(Buffer.from(payload!, 'base64url').toString()).exp })}.${mac}`
    const otherConcert = `${prefix}.${typ}.${encode({ cid: 'con_2', jti: 'qt_1', sub: 'usr_1', exp: 1e12 })}.${mac}`
    const relabelled = `${prefix}.access.${payload}.${mac}`
    const otherSecret = new TokenSigner('another-secret-another-secret-another-1', clock).sign(
      'queue',
      'usr_1',
      { cid: 'con_1', jti: 'qt_1' },
      600,
    )
    for (const bad of [
      otherUser,
      otherConcert,
      relabelled,
      otherSecret,
      token.slice(0, -1),
      token.slice(0, token.lastIndexOf('.')),
      `${token}x`,
      `${prefix}.${typ}.${payload}.`,
      `${prefix}.${typ}..${mac}`,
      `sd1.queue.${encode('not an object')}.${mac}`,
      'garbage',
      'sd1.' + 'a'.repeat(5000),
    ]) {
      expect(fresh().verify('queue', bad), bad.slice(0, 60)).toBe('invalid')
      expect(signer.verify('queue', bad), bad.slice(0, 60)).toBe('invalid')
    }
    expect(fresh().verify('access', relabelled)).toBe('invalid')
    expect(signer.verify('access', token)).toBe('invalid')
    expect(signer.verify('queue', token)).toMatchObject({ sub: 'usr_1' })
  })

  it('when a token has expired, then it is refused as expired, also once it was accepted', () => {
    const token = signer.sign('access', 'usr_1', {}, 60)
    expect(fresh().verify('access', token)).toMatchObject({ sub: 'usr_1' })
    clock.advanceSeconds(61)
    expect(signer.verify('access', token)).toBe('expired')
    expect(fresh().verify('access', token)).toBe('expired')
  })
})
