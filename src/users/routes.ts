import { Type } from 'typebox'
import { perMinute } from '../platform/http/rate-limits.js'
import { problems } from '../platform/http/schemas.js'
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
        description:
          'Answers 403 SIGNUP_DISABLED where the deployment has turned demo sign-up off (SIGNUP=off): sign in with its identity provider.',
        response: { 201: Type.Object({ userId: Type.String(), accessToken: Type.String() }), ...problems(403, 429) },
      },
    },
    async (_request, reply) => reply.status(201).send(await users.signUp()),
  )
}
