import { Type } from 'typebox'
import { DateTime, IdempotencyHeaders, problems, security } from '../platform/http/schemas.js'
import type { App } from '../platform/http/types.js'
import type { AccessTokens } from '../users/access-tokens.js'
import { userHook } from '../users/hooks.js'
import { MAX_CHARGE, type WalletService } from './service.js'

const ChargeSchema = Type.Object({ chargeId: Type.String(), amount: Type.Integer(), balance: Type.Integer() })

export function walletRoutes(app: App, { wallet, accessTokens }: { wallet: WalletService; accessTokens: AccessTokens }) {
  const user = { onRequest: userHook(accessTokens) }

  app.get(
    '/v1/me/balance',
    {
      ...user,
      schema: {
        tags: ['wallet'],
        summary: 'Your prepaid balance (won)',
        security: security.user,
        response: { 200: Type.Object({ userId: Type.String(), balance: Type.Integer() }), ...problems(401) },
      },
    },
    async (request) => ({ userId: request.userId, balance: await wallet.balance(request.userId) }),
  )

  app.post(
    '/v1/me/balance/charges',
    {
      ...user,
      schema: {
        tags: ['wallet'],
        summary: 'Add money to your balance',
        security: security.user,
        headers: IdempotencyHeaders,
        body: Type.Object(
          { amount: Type.Integer({ minimum: 1, maximum: MAX_CHARGE, description: 'won' }) },
          { additionalProperties: false },
        ),
        response: { 200: ChargeSchema, ...problems(400, 401, 409, 422) },
      },
    },
    async (request, reply) => {
      return reply.status(200).send(await wallet.charge(request.userId, request.body.amount, request.headers['idempotency-key']))
    },
  )

  app.get(
    '/v1/me/balance/history',
    {
      ...user,
      schema: {
        tags: ['wallet'],
        summary: 'Your ledger, newest first',
        security: security.user,
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                entryId: Type.String(),
                kind: Type.Union([Type.Literal('CHARGE'), Type.Literal('PAYMENT')]),
                amount: Type.Integer({ description: '+ charge, − payment' }),
                balanceAfter: Type.Integer(),
                createdAt: DateTime,
              }),
            ),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...problems(400, 401),
        },
      },
    },
    async (request) => {
      const page = await wallet.history(request.userId, request.query.limit, request.query.cursor)
      return { ...page, items: page.items.map((e) => ({ ...e, createdAt: e.createdAt.toISOString() })) }
    },
  )
}
