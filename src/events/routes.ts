import { Type } from 'typebox'
import { adminHook } from '../platform/http/admin.js'
import { problems, security } from '../platform/http/schemas.js'
import type { Routes } from '../platform/http/types.js'
import {
  CreatedWebhookSchema,
  DeliveriesQuery,
  DeliveryParams,
  DeliverySchema,
  FeedQuery,
  FeedSchema,
  WebhookBody,
  WebhookParams,
  WebhookSchema,
} from './schemas.js'
import type { Events } from './service.js'
import type { Delivery, Webhook } from './webhooks.js'

const webhookView = (w: Webhook) => ({ ...w, createdAt: w.createdAt.toISOString() })
const deliveryView = (d: Delivery) => ({
  ...d,
  lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null,
  nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
})

export const eventRoutes: Routes<{ events: Events; adminKey: string }> = (app, { events, adminKey }) => {
  const admin = { onRequest: adminHook(adminKey) }

  app.get(
    '/v1/admin/events',
    {
      ...admin,
      schema: {
        tags: ['events'],
        summary: 'The events, in sequence order, after a sequence number',
        description:
          'A feed any client can poll: pass the last `sequence` seen as `after` (0 from the start). An event gets its sequence once committed, in commit order, so a later read never shows one below a sequence already read. Events are kept at least 7 days.',
        security: security.admin,
        querystring: FeedQuery,
        response: { 200: FeedSchema, ...problems(400, 401) },
      },
    },
    async (request) => {
      const items = await events.feed(request.query.after, request.query.limit)
      return { items, nextAfter: items.at(-1)?.sequence ?? request.query.after }
    },
  )

  app.post(
    '/v1/admin/webhooks',
    {
      ...admin,
      schema: {
        tags: ['events'],
        summary: 'Subscribe an endpoint to events',
        description:
          'Each event of the types given (or of every type, `["*"]`) is POSTed to the URL, signed per Standard Webhooks with the secret answered here, once: it is not shown again. The URL is http or https, at most 2,048 characters, and may not resolve to a link-local or metadata address, nor to a loopback or private one unless WEBHOOK_ALLOW_PRIVATE=true.',
        security: security.admin,
        body: WebhookBody,
        response: { 201: CreatedWebhookSchema, ...problems(400, 401) },
      },
    },
    async (request, reply) => {
      const created = await events.webhooks.create(request.body)
      return reply.status(201).send({ ...webhookView(created), secret: created.secret })
    },
  )

  app.get(
    '/v1/admin/webhooks',
    {
      ...admin,
      schema: {
        tags: ['events'],
        summary: 'The webhook endpoints (without their secrets)',
        security: security.admin,
        response: { 200: Type.Object({ items: Type.Array(WebhookSchema) }), ...problems(401) },
      },
    },
    async () => ({ items: (await events.webhooks.list()).map(webhookView) }),
  )

  app.delete(
    '/v1/admin/webhooks/:webhookId',
    {
      ...admin,
      schema: {
        tags: ['events'],
        summary: 'Remove an endpoint and its deliveries',
        security: security.admin,
        params: WebhookParams,
        response: { 204: Type.Null(), ...problems(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await events.webhooks.remove(request.params.webhookId)
      return reply.status(204).send(null)
    },
  )

  app.get(
    '/v1/admin/webhooks/:webhookId/deliveries',
    {
      ...admin,
      schema: {
        tags: ['events'],
        summary: "An endpoint's deliveries, newest event first",
        security: security.admin,
        params: WebhookParams,
        querystring: DeliveriesQuery,
        response: { 200: Type.Object({ items: Type.Array(DeliverySchema) }), ...problems(400, 401, 404) },
      },
    },
    async (request) => ({ items: (await events.webhooks.deliveries(request.params.webhookId, request.query.limit)).map(deliveryView) }),
  )

  app.post(
    '/v1/admin/webhooks/:webhookId/deliveries/:eventId/retry',
    {
      ...admin,
      schema: {
        tags: ['events'],
        summary: 'Send a delivery again, with a fresh count of attempts',
        description: 'Pending, delivered or failed: the delivery is due at once, and its endpoint leaves its backoff.',
        security: security.admin,
        params: DeliveryParams,
        'x-optional-body': true,
        response: { 202: DeliverySchema, ...problems(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const delivery = await events.webhooks.retry(request.params.webhookId, request.params.eventId)
      return reply.status(202).send(deliveryView(delivery))
    },
  )
}
