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
  { additionalProperties: true },
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

/** The media type of every error answer (problems.ts sends them). */
const PROBLEM_MEDIA_TYPE = 'application/problem+json'

/**
 * Problem responses for the given statuses, for a route's `response` schema: documented, and
 * serialised, as application/problem+json (success answers stay application/json).
 */
export function problems(...statuses: number[]): Record<number, { description: string; content: Record<string, { schema: TSchema }> }> {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: problemDescriptions[s] ?? 'Error', content: { [PROBLEM_MEDIA_TYPE]: { schema: Problem } } }]),
  )
}

/**
 * The shape of a timestamp the service takes (requests.ts `isInstant` checks it in full): RFC 3339
 * with a real month, day and time of day (no leap second `:60`) and an offset within ±14:00.
 */
export const INSTANT_PATTERN =
  '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])[Tt]([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d{1,9})?([Zz]|[+-]((0\\d|1[0-3]):[0-5]\\d|14:00))$'
export const DateTime = Type.String({
  format: 'date-time',
  pattern: INSTANT_PATTERN,
  description: 'RFC 3339, offset within ±14:00, no leap second (:60), year 1970–9999 once converted to UTC',
})
export const NullableDateTime = Type.Union([DateTime, Type.Null()])
/** No NUL and no lone UTF-16 surrogate, as every string the service takes (requests.ts refuses them before validation). */
const TEXT_PATTERN = '^[^\\u0000\\uD800-\\uDFFF]*$'
/** An id in a path or a body: longer ones are refused by this schema, after the route's credential checks. */
export const Id = Type.String({ minLength: 1, maxLength: 100, pattern: TEXT_PATTERN })

/**
 * Bidirectional embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069): they
 * reorder the text around them, so `Safe \u202Egnp.exe\u202C` shows as "Safe exe.png".
 */
const BIDI_CONTROLS = '\\u202A-\\u202E\\u2066-\\u2069'
/** One visible character at least, and no bidirectional control anywhere. */
const NAME_PATTERN = `^(?=[\\s\\S]*\\S)[^${BIDI_CONTROLS}]*$`

/** A name, title or label someone sets and others read: visible text that cannot reorder what is around it. */
export const Name = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: NAME_PATTERN,
  description: 'At least one visible character; no bidirectional control characters (U+202A–U+202E, U+2066–U+2069)',
})

/** What a failed `pattern` of these schemas means, in words, for the problem's `detail` (by the pattern). */
export const patternRules: Readonly<Record<string, string>> = {
  [NAME_PATTERN]: 'must have a visible character and no bidirectional control character (U+202A–U+202E, U+2066–U+2069)',
}

/** Security requirements, as named in the OpenAPI document. */
export const security = {
  user: [{ bearerAuth: [] }],
  admin: [{ adminKey: [] }],
  queue: [{ queueToken: [] }],
  gated: [{ bearerAuth: [], queueToken: [] }],
}

const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: '^[\\x21-\\x7E]+$',
  description: 'Retries with the same key and body replay the first answer (kept at least 24 h)',
})

/** The optional `Idempotency-Key` header: 1–255 visible ASCII characters. */
export const IdempotencyHeaders = Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) })

/** The same header, required: a request without it is 400. */
export const RequiredIdempotencyHeaders = Type.Object({ 'idempotency-key': IdempotencyKey })
