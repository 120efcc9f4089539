/**
 * Every error code a client can see, with its HTTP status and the title of its problem document.
 * A code that is not in this table does not compile.
 */
export const errorCodes = {
  VALIDATION_FAILED: { status: 400, title: 'Invalid input' },
  MALFORMED_REQUEST: { status: 400, title: 'Malformed request' },
  FORMAT_TOO_LARGE: { status: 400, title: 'Format too large for this resource' },
  UNAUTHENTICATED: { status: 401, title: 'Not authenticated' },
  QUEUE_TOKEN_INVALID: { status: 401, title: 'Queue token invalid' },
  QUEUE_TOKEN_EXPIRED: { status: 401, title: 'Queue token expired' },
  QUEUE_TOKEN_NOT_YOURS: { status: 403, title: 'Queue token of another user' },
  QUEUE_TOKEN_WRONG_CONCERT: { status: 403, title: 'Queue token of another concert' },
  QUEUE_NOT_ADMITTED: { status: 403, title: 'Not admitted yet' },
  CHALLENGE_REQUIRED: { status: 403, title: 'Challenge required' },
  CHALLENGE_FAILED: { status: 403, title: 'Challenge failed' },
  PRESALE_CODE_REQUIRED: { status: 403, title: 'Presale code required' },
  PRESALE_CODE_INVALID: { status: 403, title: 'Presale code invalid' },
  PRESALE_CODE_USED: { status: 403, title: 'Presale code used' },
  SIGNUP_DISABLED: { status: 403, title: 'Sign-up disabled' },
  CHARGES_DISABLED: { status: 403, title: 'Top-up disabled' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  NOT_ACCEPTABLE: { status: 406, title: 'Not acceptable' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },
  QUEUE_NOT_OPEN: { status: 409, title: 'Queue not open' },
  SEAT_UNAVAILABLE: { status: 409, title: 'Seat unavailable' },
  SOLD_OUT: { status: 409, title: 'Sold out' },
  TICKET_LIMIT: { status: 409, title: 'Ticket limit reached' },
  HOLD_LIMIT_REACHED: { status: 409, title: 'Hold limit reached' },
  SCHEDULE_CLOSED: { status: 409, title: 'Schedule closed' },
  HOLD_EXPIRED: { status: 409, title: 'Hold expired' },
  HOLD_RELEASED: { status: 409, title: 'Hold released' },
  ALREADY_PAID: { status: 409, title: 'Already paid' },
  SCHEDULE_CANCELLED: { status: 409, title: 'Schedule cancelled' },
  REFUND_NOT_ALLOWED: { status: 409, title: 'Refund not allowed' },
  NOT_PAID: { status: 409, title: 'Not paid' },
  ALREADY_REFUNDED: { status: 409, title: 'Already refunded' },
  INSUFFICIENT_BALANCE: { status: 409, title: 'Insufficient balance' },
  IDEMPOTENCY_IN_PROGRESS: { status: 409, title: 'Request in progress' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Content too large' },
  URI_TOO_LONG: { status: 414, title: 'URI too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency-Key reused' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Headers too large' },
  INTERNAL: { status: 500, title: 'Internal error' },
  DEPENDENCY_UNAVAILABLE: { status: 503, title: 'Dependency unavailable' },
  OVERLOADED: { status: 503, title: 'Overloaded' },
  SHUTTING_DOWN: { status: 503, title: 'Shutting down' },
} as const satisfies Record<string, { status: number; title: string }>

export type ErrorCode = keyof typeof errorCodes

/**
 * The one error type the domain throws. The HTTP layer turns it into `application/problem+json`
 * with its code's status; anything that is not an AppError is an internal error and is never
 * shown to the client.
 */
export class AppError extends Error {
  readonly status: number

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    /** Extra members of the problem document, e.g. `position` or `field`. */
    readonly extra: Record<string, unknown> = {},
    /** Headers the answer carries besides the document, e.g. a 429's `Retry-After`. */
    readonly headers: Record<string, number | string> = {},
  ) {
    super(detail)
    this.name = 'AppError'
    this.status = errorCodes[code].status
  }
}

export const badRequest = (field: string, detail: string) => new AppError('VALIDATION_FAILED', `${field}: ${detail}`, { field })

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`)

/**
 * A limit's refusal: the problem document says when to try again, and so do the headers
 * `@fastify/rate-limit` sends with a 429 (the limit, none remaining, seconds until it resets).
 */
export function rateLimited(limit: number, retryAfterMs: number): AppError {
  const seconds = Math.ceil(retryAfterMs / 1000)
  return new AppError(
    'RATE_LIMITED',
    `too many requests; retry in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}`,
    { retryAfterSeconds: seconds },
    { 'x-ratelimit-limit': limit, 'x-ratelimit-remaining': 0, 'x-ratelimit-reset': seconds, 'retry-after': seconds },
  )
}

export const unauthenticated = (detail = 'a valid Bearer access token is required') => new AppError('UNAUTHENTICATED', detail)
