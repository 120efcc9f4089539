import type { FastifyReply, FastifyRequest } from 'fastify'
import helmet, { type HelmetOptions } from 'helmet'

/**
 * The headers helmet would set for these options, worked out once: helmet is a middleware that
 * sets headers by its options alone, so the set is the same for every response and a request
 * pays only for writing it.
 */
function helmetHeaders(options: HelmetOptions): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader: (name: string, value: string) => {
      headers[name.toLowerCase()] = String(value)
    },
    removeHeader: () => undefined,
  }
  helmet(options)({} as never, recorder as never, () => undefined)
  return Object.freeze(headers)
}

/**
 * What every API answer says: JSON (and problem+json) is never sniffed, framed or a document
 * that loads anything. Set on every response, so it is kept to what a JSON answer needs.
 */
export const API_HEADERS = helmetHeaders({
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  crossOriginOpenerPolicy: false,
  crossOriginResourcePolicy: false,
  originAgentCluster: false,
  strictTransportSecurity: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
  xPoweredBy: false,
})

/**
 * helmet's full set, for pages and the files they load (the fan pages, the console, the API
 * docs): a route-level onRequest hook. A page may replace the policy with its own.
 */
const PAGE_HEADERS = helmetHeaders({
  frameguard: { action: 'deny' },
  contentSecurityPolicy: { directives: { frameAncestors: ["'none'"] } },
})

export function pageHeaders(_request: FastifyRequest, reply: FastifyReply, done: () => void) {
  reply.headers(PAGE_HEADERS)
  done()
}
