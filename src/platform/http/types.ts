import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify'

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

/**
 * The one shape of a route module: it adds its routes to the app, given a small object of the
 * parts it uses. The composition root registers every module this way.
 */
export type Routes<Deps> = (app: App, deps: Deps) => void | Promise<void>
