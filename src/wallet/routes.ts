import { Type } from 'typebox'
import { adminHook } from '../platform/http/admin.js'
import { Id, IdempotencyHeaders, problems, RequiredIdempotencyHeaders, security } from '../platform/http/schemas.js'
import type { Routes } from '../platform/http/types.js'
import type { AccessTokens } from '../users/access-tokens.js'
import { userHook } from '../users/hooks.js'
import { BalanceSchema, ChargeBody, ChargeSchema, HistoryQuery, HistorySchema } from './schemas.js'
import type { WalletService } from './service.js'

export const walletRoutes: Routes<{ wallet: WalletService; accessTokens: AccessTokens; adminKey: string }> = (
  app,
  { wallet, accessTokens, adminKey },
) => {
  const authenticate = userHook(accessTokens)
  const user = { onRequest: authenticate }

  app.get(
    '/v1/me/balance',
    {
      ...user,
      schema: {
        tags: ['wallet'],
        summary: 'Your prepaid balance (won)',
        security: security.user,
        response: {
          200: BalanceSchema,
          ...problems(401),
        },
      },
    },
    async (request) => ({ userId: request.userId, balance: await wallet.balance(request.userId), charges: wallet.charges }),
  )

  app.post(
    '/v1/me/balance/charges',
    {
      // Authenticated first (401), then refused with charges off (403) before the body is read:
      // no body could be accepted.
      onRequest: [authenticate, async () => wallet.assertFanCharges()],
      schema: {
        tags: ['wallet'],
        summary: 'Add money to your balance (demo top-up)',
        description:
          "Answers 403 CHARGES_DISABLED where the deployment has turned fans' own top-ups off (CHARGES=off, the default with SIGNUP=off): there the operator's payment integration credits balances (POST /v1/admin/users/{userId}/balance/charges). GET /v1/me/balance says which.",
        security: security.user,
        headers: IdempotencyHeaders,
        body: ChargeBody,
        response: { 200: ChargeSchema, ...problems(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      return reply.status(200).send(await wallet.charge(request.userId, request.body.amount, request.headers['idempotency-key']))
    },
  )

  app.post(
    '/v1/admin/users/:userId/balance/charges',
    {
      onRequest: adminHook(adminKey),
      schema: {
        tags: ['admin'],
        summary: "Credit a user's balance for a payment the payment provider confirmed",
        description:
          "Where a payment provider's confirmation lands: the operator's payment integration calls this once the provider confirms a payment, with the provider's payment id as Idempotency-Key (required). A repeated confirmation with the same key and amount replays the first answer and credits nothing more (keys are kept at least 24 h); the same key with another amount is 422; while the first is still running, 409. Works whatever CHARGES says. 404 for a user who has never signed up or signed in.",
        security: security.admin,
        params: Type.Object({ userId: Id }),
        headers: RequiredIdempotencyHeaders,
        body: ChargeBody,
        response: { 200: ChargeSchema, ...problems(400, 401, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const { userId } = request.params
      return reply.status(200).send(await wallet.credit(userId, request.body.amount, request.headers['idempotency-key']))
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
        querystring: HistoryQuery,
        response: {
          200: HistorySchema,
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
