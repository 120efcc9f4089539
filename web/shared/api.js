/**
 * A refusal: the problem document's `code` (or NETWORK when no answer came), its HTTP status,
 * and for 429 and 503 the seconds the server asked us to wait.
 */
export class Problem extends Error {
  constructor(status, body, retryAfterS) {
    super(body?.detail ?? `HTTP ${status}`)
    this.status = status
    this.code = body?.code ?? (status ? `HTTP_${status}` : 'NETWORK')
    this.field = body?.field
    this.retryAfterS = retryAfterS
  }
}

/** One JSON request to stagedoor; the parsed answer, or a Problem. */
export async function request(method, path, { headers = {}, body } = {}) {
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
