import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { negotiate } from '@fastify/accept-negotiator'
import compress from '@fastify/compress'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { App } from './types.js'

/** Answers smaller than this go as they are: compressing them saves less than it costs. */
const COMPRESS_MIN_BYTES = 2048

/** What the service compresses with, by preference: every browser takes both. */
type Encoding = 'br' | 'gzip'
const ENCODINGS: Encoding[] = ['br', 'gzip']

/** Brotli at quality 4, as @fastify/compress uses it: nearly gzip's speed, smaller output. */
const compressors: Record<Encoding, (body: Buffer) => Buffer> = {
  br: (body) => brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }),
  gzip: (body) => gzipSync(body),
}

/**
 * Answers of 2 KB and more (JSON, pages, scripts, styles) are compressed for a client that accepts
 * br or gzip. Request bodies are not decompressed: a body comes as sent, within the body limit.
 * Registered before the routes, which it hooks as they are added.
 */
export async function registerCompression(app: App) {
  await app.register(compress, { threshold: COMPRESS_MIN_BYTES, encodings: ENCODINGS, globalDecompression: false })
}

/**
 * For a hot route whose answers are always small (a join, a status poll): the compression hooks
 * do not run on it at all.
 */
export const uncompressed = { compress: false } as const

/**
 * A JSON body sent to many clients (a cached seat map): compressed once per encoding, on first
 * demand, so a crowd reading it pays for one compression and not one each. Its route sets
 * `uncompressed`, as the body does its own.
 */
export class SharedJson {
  readonly #encoded: Partial<Record<Encoding, Buffer>> = {}

  constructor(readonly body: Buffer) {}

  send(request: FastifyRequest, reply: FastifyReply) {
    reply.type('application/json; charset=utf-8')
    if (this.body.length < COMPRESS_MIN_BYTES) return reply.send(this.body)
    reply.header('vary', 'accept-encoding')
    const accepted = request.headers['accept-encoding']
    const encoding = accepted ? (negotiate(accepted.toLowerCase(), ENCODINGS) as Encoding | null) : null
    if (!encoding) return reply.send(this.body)
    this.#encoded[encoding] ??= compressors[encoding](this.body)
    return reply.header('content-encoding', encoding).send(this.#encoded[encoding])
  }
}

/**
 * `SharedJson` bodies kept for as long as the cached values they are made from: a route that
 * answers a crowd from one cache entry (the seat map) pays for one serialisation, one UTF-8
 * encoding and one compression per encoding, not one per answer. A body is made from two objects
 * (a cache entry and what it is shown with) and goes when either of them is dropped or replaced.
 */
export class SharedBodies<Variant extends string> {
  readonly #bodies = new WeakMap<object, WeakMap<object, Partial<Record<Variant, SharedJson>>>>()

  /** The body of `variant` for this pair, made from `value()` the first time it is asked for. */
  of(first: object, second: object, variant: Variant, value: () => unknown): SharedJson {
    let bySecond = this.#bodies.get(first)
    if (!bySecond) {
      bySecond = new WeakMap()
      this.#bodies.set(first, bySecond)
    }
    let bodies = bySecond.get(second)
    if (!bodies) {
      bodies = {}
      bySecond.set(second, bodies)
    }
    bodies[variant] ??= new SharedJson(Buffer.from(JSON.stringify(value())))
    return bodies[variant]
  }
}
