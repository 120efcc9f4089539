/**
 * The one error type the domain throws. The HTTP layer turns it into `application/problem+json`
 * with this status and code; anything that is not an AppError is an internal error and is never
 * shown to the client.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    /** Extra members of the problem document, e.g. `position` or `field`. */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail)
    this.name = 'AppError'
  }
}

export const badRequest = (field: string, detail: string) =>
  new AppError(400, 'VALIDATION_FAILED', `${field}: ${detail}`, { field })

export const notFound = (what: string) => new AppError(404, 'NOT_FOUND', `${what} not found`)

export const unauthenticated = (detail = 'a valid Bearer access token is required') =>
  new AppError(401, 'UNAUTHENTICATED', detail)

export const conflict = (code: string, detail: string, extra?: Record<string, unknown>) =>
  new AppError(409, code, detail, extra)
