import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/platform/errors.js'
import { TokenSigner } from '../../src/platform/signer.js'
import { AccessTokens } from '../../src/users/access-tokens.js'
import { createUser, sharedTestApp } from '../support/app.js'
import { databaseTargets } from '../support/stores.js'

describe.each(databaseTargets)('users on $name', (target) => {
  const t = sharedTestApp(target)

  const refusal = async (header: string | undefined) => {
    try {
      await t.app.components.accessTokens.authenticate(header)
    } catch (err) {
      return err as AppError
    }
    throw new Error('accepted')
  }

  it('when a user signs up, then a stored user and an access token for them come back', async () => {
    const { userId, accessToken } = await createUser(t)
    expect(userId).toMatch(/^usr_[0-9a-f]{32}$/)
    expect(await t.app.components.accessTokens.authenticate(`Bearer ${accessToken}`)).toBe(userId)
    const row = await t.app.components.database.db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst()
    expect(row).toMatchObject({ id: userId })
  })

  it('when two users sign up in parallel, then each gets a different id', async () => {
    const users = await Promise.all(Array.from({ length: 20 }, () => createUser(t)))
    expect(new Set(users.map((u) => u.userId)).size).toBe(20)
  })

  it('when the header is missing or malformed, then 401 UNAUTHENTICATED', async () => {
    const { accessToken } = await createUser(t)
    for (const header of [undefined, '', accessToken, `Basic ${accessToken}`, 'Bearer ', 'Bearer a b']) {
      const err = await refusal(header)
      expect(err).toBeInstanceOf(AppError)
      expect(err).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' })
    }
  })

  it('when a token is signed with another secret, then it is refused as invalid', async () => {
    const forger = new AccessTokens(new TokenSigner('another-secret-another-secret-0123456', t.clock))
    const err = await refusal(`Bearer ${forger.issue('usr_someone')}`)
    expect(err).toMatchObject({ status: 401, detail: 'the access token is not valid' })
  })

  it('when a token has expired, then it is refused as expired, even one accepted before', async () => {
    const { userId, accessToken } = await createUser(t)
    expect(await t.app.components.accessTokens.authenticate(`Bearer ${accessToken}`)).toBe(userId)
    t.clock.advanceSeconds(31 * 24 * 3600)
    expect(await refusal(`Bearer ${accessToken}`)).toMatchObject({ status: 401, detail: 'the access token has expired' })
  })

  it('when a token differs from an accepted one in its signature only, then it is refused', async () => {
    const { userId, accessToken } = await createUser(t)
    expect(await t.app.components.accessTokens.authenticate(`Bearer ${accessToken}`)).toBe(userId)
    const at = accessToken.length - 10
    const altered = `${accessToken.slice(0, at)}${accessToken[at] === 'A' ? 'B' : 'A'}${accessToken.slice(at + 1)}`
    const err = await refusal(`Bearer ${altered}`)
    expect(err).toMatchObject({ status: 401, detail: 'the access token is not valid' })
    expect(await t.app.components.accessTokens.authenticate(`Bearer ${accessToken}`)).toBe(userId)
  })

  it('when a token of another kind is presented, then it is refused', async () => {
    const other = t.app.components.signer.sign('queue', 'usr_someone', { cid: 'con_x' }, 600)
    expect(await refusal(`Bearer ${other}`)).toMatchObject({ status: 401, detail: 'the access token is not valid' })
  })
})
