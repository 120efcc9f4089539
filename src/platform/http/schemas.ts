import { type TSchema, Type } from 'typebox'

/** RFC 9457 problem document; `code` is the stable machine-readable reason. */
const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.String(),
    field: Type.Optional(Type.String()),
    position: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  },
  { additionalProperties: true, description: 'application/problem+json' },
)

const problemDescriptions: Record<number, string> = {
  400: 'Invalid input; `detail` and `field` name the field',
  401: 'Missing, malformed, forged or expired credential',
  403: 'Valid credential without the right',
  404: 'Unknown id, or a resource of another user',
  409: 'State conflict',
  422: 'Idempotency-Key reused with a different body',
  503: 'A dependency is down',
}

/** Problem responses for the given statuses, for a route's `response` schema. */
export function problems(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, { ...Problem, description: problemDescriptions[s] ?? 'Error' }]))
}

export const DateTime = Type.String({ format: 'date-time' })
export const NullableDateTime = Type.Union([DateTime, Type.Null()])
export const Id = Type.String({ minLength: 1, maxLength: 100 })
export const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' })

/** Security requirements, as named in the OpenAPI document. */
export const security = {
  user: [{ bearerAuth: [] }],
  admin: [{ adminKey: [] }],
  queue: [{ queueToken: [] }],
  gated: [{ bearerAuth: [], queueToken: [] }],
}

/** The optional `Idempotency-Key` header: 1–255 visible ASCII characters. */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7E]+$',
      description: 'Retries with the same key and body replay the first answer (kept at least 24 h)',
    }),
  ),
})
