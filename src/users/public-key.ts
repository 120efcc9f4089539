import { createPublicKey, type KeyObject } from 'node:crypto'

/** The only signature algorithms an identity provider's token may use. */
export const ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const
export type Algorithm = (typeof ALGORITHMS)[number]

/** A PEM public key (or certificate) and the one algorithm it verifies; throws saying why it cannot be used. */
export function parsePublicKey(pem: string): { key: KeyObject; algorithm: Algorithm } {
  if (/PRIVATE KEY/.test(pem)) throw new Error('this is a private key; give the public key')
  let key: KeyObject
  try {
    key = createPublicKey(pem)
  } catch {
    throw new Error('not a PEM public key')
  }
  const type = key.asymmetricKeyType
  if (type === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) return { key, algorithm: 'RS256' }
  if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { key, algorithm: 'ES256' }
  if (type === 'ed25519') return { key, algorithm: 'EdDSA' }
  throw new Error('the key must be RSA of at least 2048 bits (RS256), EC P-256 (ES256) or Ed25519 (EdDSA)')
}
