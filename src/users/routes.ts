import { perMinute } from '../platform/http/rate-limits.js'
import { problems } from '../platform/http/schemas.js'
import type { Routes } from '../platform/http/types.js'
import { SignedUpSchema } from './schemas.js'
import type { UserService } from './service.js'

export const userRoutes: Routes<{ users: UserService; signupPerMin: number }> = (app, { users, signupPerMin }) => {
  app.post(
    '/v1/users',
    {
      ...perMinute(signupPerMin),
      schema: {
        tags: ['users'],
        summary: 'Sign up (demo): create a user and issue an access token',
        description:
          'Answers 403 SIGNUP_DISABLED where the deployment has turned demo sign-up off (SIGNUP=off): sign in with its identity provider.',
        response: { 201: SignedUpSchema, ...problems(403, 429) },
      },
    },
    async (_request, reply) => reply.status(201).send(await users.signUp()),
  )
}
