import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP } from 'node:net'

/** The longest webhook URL accepted. */
export const MAX_URL_LENGTH = 2048

/** Resolves a host name to every address it has (dns.lookup with `all`). */
export type Resolve = (hostname: string) => Promise<LookupAddress[]>

export const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  )

const ranges = (list: BlockList, type: 'ipv4' | 'ipv6', cidrs: string[]) => {
  for (const cidr of cidrs) {
    const [network, prefix] = cidr.split('/')
    list.addSubnet(network!, Number(prefix), type)
  }
  return list
}

/** Never a webhook target: link-local (where clouds serve instance metadata and credentials), metadata services, unspecified, multicast, reserved. */
const never = ranges(
  ranges(new BlockList(), 'ipv4', ['0.0.0.0/8', '169.254.0.0/16', '100.100.100.200/32', '224.0.0.0/4', '240.0.0.0/4']),
  'ipv6',
  ['::/128', 'fe80::/10', 'fd00:ec2::254/128', 'ff00::/8'],
)

/** A webhook target only where WEBHOOK_ALLOW_PRIVATE=true (a receiver on the operator's laptop or network): loopback and private ranges. */
const privateRanges = ranges(
  ranges(new BlockList(), 'ipv4', [
    '10.0.0.0/8',
    '100.64.0.0/10',
    '127.0.0.0/8',
    '172.16.0.0/12',
    '192.0.0.0/24',
    '192.168.0.0/16',
    '198.18.0.0/15',
  ]),
  'ipv6',
  // 64:ff9b:1::/48: NAT64 for local use (RFC 8215), whose operator places the IPv4 address anywhere in it.
  ['::1/128', 'fc00::/7', '64:ff9b:1::/48'],
)

/** An IPv6 address's 16 bytes (any written form, a dotted IPv4 tail included). */
function ipv6Bytes(address: string): number[] {
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address)
  const hex = dotted
    ? `${address.slice(0, dotted.index)}${((+dotted[1]! << 8) | +dotted[2]!).toString(16)}:${((+dotted[3]! << 8) | +dotted[4]!).toString(16)}`
    : address
  const [head, tail] = hex.split('::') as [string, string | undefined]
  const groups = (part: string | undefined) => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : [])
  const missing = 8 - groups(head).length - groups(tail).length
  const all = tail === undefined ? groups(head) : [...groups(head), ...new Array<number>(missing).fill(0), ...groups(tail)]
  return all.flatMap((g) => [g >> 8, g & 0xff])
}

/**
 * IPv6 ranges whose addresses carry an IPv4 address, and where in them: traffic to such an
 * address may reach that IPv4 host (through a NAT64 gateway or a 6to4 or Teredo relay), so the
 * address is judged as the IPv4 address too. IPv4-mapped addresses (`::ffff:a.b.c.d`) BlockList
 * judges as IPv4 itself.
 */
const embeddings = [
  { range: '64:ff9b::/96', at: 12, xor: 0 }, // NAT64, the well-known prefix (RFC 6052)
  { range: '2002::/16', at: 2, xor: 0 }, // 6to4 (RFC 3056)
  { range: '2001::/32', at: 12, xor: 0xff }, // Teredo: the client's address, every bit flipped (RFC 4380)
  { range: '::/96', at: 12, xor: 0 }, // IPv4-compatible, deprecated (RFC 4291)
].map(({ range, at, xor }) => ({ list: ranges(new BlockList(), 'ipv6', [range]), at, xor }))

/** The IPv4 address an IPv6 address carries, if it is in one of the ranges that carry one. */
function embeddedIPv4(address: string): string | undefined {
  const embedding = embeddings.find(({ list }) => list.check(address, 'ipv6'))
  if (!embedding) return undefined
  const bytes = ipv6Bytes(address).slice(embedding.at, embedding.at + 4)
  return bytes.map((b) => b ^ embedding.xor).join('.')
}

/** Why this address may not be a target, or undefined if it may; `shown` is how the refusal names it. */
function refusedAs(address: string, type: 'ipv4' | 'ipv6', allowPrivate: boolean, shown: string): string | undefined {
  if (never.check(address, type)) return `${shown} is a link-local, metadata, multicast or reserved address`
  if (privateRanges.check(address, type))
    return allowPrivate ? undefined : `${shown} is a loopback or private address (WEBHOOK_ALLOW_PRIVATE is not true)`
  const inside = type === 'ipv6' ? embeddedIPv4(address) : undefined
  return inside && refusedAs(inside, 'ipv4', allowPrivate, `${shown} (which carries ${inside})`)
}

/**
 * Why this address may not be a target, or undefined if it may. An IPv6 address that carries an
 * IPv4 address (NAT64, 6to4, Teredo, IPv4-compatible) is judged by the IPv4 address it carries.
 */
export const refusedAddress = (address: string, allowPrivate: boolean): string | undefined =>
  refusedAs(address, isIP(address) === 6 ? 'ipv6' : 'ipv4', allowPrivate, address)

/** A URL's host as an address or a name: brackets of an IPv6 literal removed. */
export const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1')

/**
 * Why a URL may not be a webhook target, or undefined if it may: http(s) only, at most 2,048
 * characters, and every address its host resolves to allowed.
 */
export async function refusedTarget(url: string, allowPrivate: boolean, resolve: Resolve): Promise<string | undefined> {
  if (url.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`
  if (!URL.canParse(url)) return 'must be an absolute URL'
  const parsed = new URL(url)
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `must be http or https, not ${parsed.protocol.slice(0, -1)}`
  const host = hostOf(parsed)
  if (isIP(host)) return refusedAddress(host, allowPrivate)
  let addresses: LookupAddress[]
  try {
    addresses = await resolve(host)
  } catch {
    return `${host} does not resolve`
  }
  if (addresses.length === 0) return `${host} does not resolve`
  for (const { address } of addresses) {
    const refused = refusedAddress(address, allowPrivate)
    if (refused) return `${host} resolves to ${refused}`
  }
  return undefined
}
