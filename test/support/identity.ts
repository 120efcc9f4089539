import { randomBytes } from 'node:crypto'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'

/** The issuer and audience the test identity provider's tokens carry, and the app is configured with. */
export const ISSUER = 'https://idp.test/realms/stagedoor'
export const AUDIENCE = 'stagedoor-api'

export type Algorithm = 'RS256' | 'ES256' | 'EdDSA'

/** One of the identity provider's signing keys, with its public JWK as the JWKS lists it. */
export interface SigningKey {
  alg: Algorithm
  kid: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  jwk: JWK
}

export async function signingKey(alg: Algorithm, kid = `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { alg, kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}

/** Claims of a token: unset ones take the defaults; `undefined` leaves a claim out. */
export interface TokenClaims {
  iss?: string
  aud?: string | string[]
  sub?: string
  iat?: number
  nbf?: number
  exp?: number
  [claim: string]: unknown
}

/**
 * A token of the test identity provider, signed with `key`: issued at `nowMs` (the app's clock),
 * valid five minutes, for a new subject unless `claims` name one. `header` adds to or replaces its protected header.
 */
export function idpToken(key: SigningKey, nowMs: number, claims: TokenClaims = {}, header: Record<string, unknown> = {}): Promise<string> {
  const iat = Math.floor(nowMs / 1000)
  // A jti of its own makes every token a new text, so none is taken from the verified-token cache by accident.
  const payload: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: `fan-${randomBytes(6).toString('hex')}`,
    jti: randomBytes(8).toString('hex'),
    iat,
    exp: iat + 300,
  }
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined) delete payload[name]
    else payload[name] = value
  }
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header }).sign(key.privateKey)
}

/**
 * A real JWKS endpoint on a free loopback port, serving the public keys it is given. The test can
 * delay its answers (`delayMs`, Infinity holds them until the server stops), stop it (connections
 * refused) and start it again on the same port.
 */
export class JwksServer {
  /** JWKS requests received. */
  requests = 0
  delayMs = 0
  /** The status it answers with: 200 serves the keys, anything else is a failing endpoint. */
  status = 200
  readonly #held = new Set<ServerResponse>()
  readonly #server = createServer((request, response) => {
    this.requests++
    if (request.url !== '/protocol/openid-connect/certs') {
      response.writeHead(404).end()
      return
    }
    const answer = () => {
      this.#held.delete(response)
      if (this.status !== 200) {
        response.writeHead(this.status, { 'content-type': 'text/plain' }).end('failing')
        return
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }))
    }
    this.#held.add(response)
    if (this.delayMs === 0) answer()
    else if (Number.isFinite(this.delayMs)) setTimeout(answer, this.delayMs)
  })
  #port = 0

  private constructor(public keys: SigningKey[]) {}

  static async start(keys: SigningKey[]): Promise<JwksServer> {
    const server = new JwksServer(keys)
    await server.start()
    return server
  }

  /** The JWKS URL, shaped like Keycloak's. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}/protocol/openid-connect/certs`
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', reject)
        resolve()
      })
    })
    this.#port = (this.#server.address() as AddressInfo).port
  }

  /** Stops listening and drops every connection, held answers included: the endpoint is down. */
  async stop(): Promise<void> {
    for (const response of this.#held) response.destroy()
    this.#held.clear()
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#server.closeAllConnections()
    await closed
  }
}
