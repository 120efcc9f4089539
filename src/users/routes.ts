import { Type } from 'typebox'
import { perMinute } from '../platform/http/rate-limits.js'
import type { App } from '../platform/http/types.js'
import type { UserService } from './service.js'

export function userRoutes(app: App, { users, signupPerMin }: { users: UserService; signupPerMin: number }) {
  app.post(
    '/v1/users',
    {
      ...perMinute(signupPerMin),
      schema: {
        tags: ['users'],
        summary: 'Sign up (demo): create a user and issue an access token',
        response: { 201: Type.Object({ userId: Type.String(), accessToken: Type.String() }) },
      },
    },
    async (_request, reply) => reply.status(201).send(await users.signUp()),
  )
}
