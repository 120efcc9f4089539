import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import { isIP } from 'node:net'
import { Webhook } from 'standardwebhooks'
import { hostOf, type Resolve, refusedAddress } from './targets.js'

/** Most of a receiver's answer that is kept, for the delivery log. */
const KEPT_RESPONSE_BYTES = 1024

/** What one attempt came to: a 2xx (delivered), another status (a redirect is one: never followed), or an error. */
export interface AttemptResult {
  delivered: boolean
  status: number | null
  body: string | null
  error: string | null
}

export interface SendOptions {
  allowPrivate: boolean
  resolve: Resolve
  timeoutMs: number
  /** Any of these aborted cuts the attempt (the process stopping, the claim lost). */
  signals?: AbortSignal[]
}

class TargetRefused extends Error {}

/**
 * Resolves the target's name when the request connects, and connects only to addresses that pass
 * the target checks: the check is on the very address used, so a name that changes its address
 * after the webhook was created gains nothing.
 */
function checkedLookup({ resolve, allowPrivate }: SendOptions): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        for (const { address } of addresses) {
          const refused = refusedAddress(address, allowPrivate)
          if (refused) return callback(new TargetRefused(`${hostname} resolves to ${refused}`), '', 4)
        }
        if (addresses.length === 0) return callback(new TargetRefused(`${hostname} does not resolve`), '', 4)
        if (options.all) return (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses)
        callback(null, addresses[0]!.address, addresses[0]!.family)
      },
      (err: Error) => callback(new TargetRefused(`${hostname} does not resolve: ${err.message}`), '', 4),
    )
  }
}

/** Text that PostgreSQL can keep, in a text column or in JSON: no NUL, no lone surrogate. */
const storable = (text: string) => text.replaceAll('\u0000', '\uFFFD').toWellFormed()

/**
 * POSTs one signed envelope (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
 * `webhook-signature`, made with the `standardwebhooks` package). Within `timeoutMs` in all, never
 * following a redirect, keeping at most 1 KB of the answer.
 */
export function sendWebhook(
  target: { url: string; secret: string },
  message: { id: string; body: string; signedAt: Date },
  options: SendOptions,
): Promise<AttemptResult> {
  const url = new URL(target.url)
  const host = hostOf(url)
  if (isIP(host)) {
    const refused = refusedAddress(host, options.allowPrivate)
    if (refused) return Promise.resolve({ delivered: false, status: null, body: null, error: `target refused: ${refused}` })
  }
  const signature = new Webhook(target.secret).sign(message.id, message.signedAt, message.body)
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'stagedoor-webhooks',
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(message.signedAt.getTime() / 1000)),
    'webhook-signature': signature,
  }
  return new Promise((resolve) => {
    let settled = false
    const finish = (result: AttemptResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      for (const signal of options.signals ?? []) signal.removeEventListener('abort', onAbort)
      resolve(result)
    }
    const fail = (error: string) => finish({ delivered: false, status: null, body: null, error })
    const client = url.protocol === 'https:' ? https : http
    const request = client.request(url, { method: 'POST', headers, lookup: checkedLookup(options), agent: false }, (response) => {
      const status = response.statusCode ?? 0
      const chunks: Buffer[] = []
      let kept = 0
      const done = () => {
        const body = storable(Buffer.concat(chunks).toString('utf8')).slice(0, KEPT_RESPONSE_BYTES)
        finish({ delivered: status >= 200 && status < 300, status, body, error: null })
        response.destroy()
      }
      response.on('data', (chunk: Buffer) => {
        if (kept < KEPT_RESPONSE_BYTES) chunks.push(chunk.subarray(0, KEPT_RESPONSE_BYTES - kept))
        kept += chunk.length
        if (kept >= KEPT_RESPONSE_BYTES) done()
      })
      response.on('end', done)
      response.on('error', done)
    })
    const timer = setTimeout(() => {
      fail(`no answer within ${options.timeoutMs / 1000} s`)
      request.destroy()
    }, options.timeoutMs)
    const onAbort = () => {
      fail('cut: the process is stopping, or its claim was lost')
      request.destroy()
    }
    for (const signal of options.signals ?? []) signal.addEventListener('abort', onAbort)
    request.on('error', (err) => fail(err instanceof TargetRefused ? `target refused: ${err.message}` : `request failed: ${err.message}`))
    request.end(message.body)
  })
}
