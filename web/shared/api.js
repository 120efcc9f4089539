/**
 * A list the service answers with.
 * @template T
 * @typedef {{ items: T[] }} Page
 */

/**
 * A concert as `GET /v1/concerts` lists it.
 * @typedef {object} Concert
 * @property {string} concertId
 * @property {string} title
 * @property {string} performer
 * @property {string} venue
 * @property {string | null} queueOpensAt
 * @property {string | null} presaleOpensAt null: no presale; until saleOpensAt joining needs a code
 * @property {string | null} saleOpensAt
 * @property {'none' | 'pow'} joinChallenge
 * @property {number} maxTicketsPerUser
 * @property {RefundPolicy | null} refundPolicy null: no fan refunds
 * @property {boolean} soldOut
 */

/**
 * When a fan may refund a paid seat, and what is kept: until `refundableUntilHours` before the
 * date starts, the price less `feePercent` (counted to a hundredth of a percent).
 * @typedef {{ refundableUntilHours: number, feePercent: number }} RefundPolicy
 */

/**
 * A concert's date as `GET /v1/concerts/{id}/schedules` (and its admin twin) lists it.
 * @typedef {object} Schedule
 * @property {string} scheduleId
 * @property {string} startsAt
 * @property {number} availableSeats
 * @property {number} totalSeats
 */

/**
 * What a page says a refusal from: a Problem, or one the page finds itself (a value left wrong).
 * @typedef {{ code: string, field?: string, message?: string, retryAfterS?: number }} Refusal
 */

/**
 * @typedef {object} RequestOptions
 * @property {Record<string, string>} [headers]
 * @property {unknown} [body] sent as JSON
 * @property {boolean} [raw] a success's Response, its body unread (for a download)
 */

/**
 * A refusal: the problem document's `code` (or NETWORK when no answer came), its HTTP status,
 * for 429 and 503 the seconds the server asked us to wait, and for a refund refused as too late
 * the time refunds closed.
 */
export class Problem extends Error {
  /**
   * @param {number} status 0 when no answer came
   * @param {{ code?: string, detail?: string, field?: string, refundableUntil?: string } | null} body the problem document
   * @param {number} [retryAfterS]
   */
  constructor(status, body, retryAfterS) {
    super(body?.detail ?? `HTTP ${status}`)
    this.status = status
    this.code = body?.code ?? (status ? `HTTP_${status}` : 'NETWORK')
    this.field = body?.field
    this.retryAfterS = retryAfterS
    this.refundableUntil = body?.refundableUntil
  }
}

/**
 * One JSON request to stagedoor; the parsed answer (with `raw`, the Response of a success, unread),
 * or a Problem. The caller names the answer's shape, as this cannot know it.
 * @param {string} method
 * @param {string} path
 * @param {RequestOptions} [options]
 * @returns {Promise<unknown>}
 */
export async function request(method, path, { headers = {}, body, raw = false } = {}) {
  let res
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new Problem(0, null)
  }
  if (raw && res.ok) return res
  const text = await res.text()
  let data = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    // Not JSON (the Prometheus text of /metrics, a proxy's error page): the status says enough.
  }
  if (!res.ok) throw new Problem(res.status, data, Number(res.headers.get('retry-after')) || undefined)
  return data
}

/** A fresh Idempotency-Key for one attempt at a charge or a payment. */
export const newKey = () => crypto.randomUUID()
