import { Type } from 'typebox'
import type { App } from '../http/types.js'
import type { Services } from '../services.js'

export function userRoutes(app: App, { users, accessTokens }: Services) {
  app.post(
    '/v1/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Sign up (demo): create a user and issue an access token',
        response: { 201: Type.Object({ userId: Type.String(), accessToken: Type.String() }) },
      },
    },
    async (_request, reply) => {
      const userId = await users.create()
      const accessToken = accessTokens.issue(userId)
      return reply.status(201).send({ userId, accessToken })
    },
  )
}
