/**
 * Every identity a request belongs to: address, network, account, API key, session and device.
 * Harvesters rotate some identities (addresses are cheap) but rarely all at once, so the guard
 * attributes each response to all of them. Credentials and personal values only ever leave this
 * file as keyed digests.
 */
import { type Client, digestHex, type Keyer, type Principal } from '../core/index.ts'
import { computeAnomalies, createUserAgentFacts } from './anomalies.ts'
import { type ClientAddress, type ForwardedHeader, resolveClientAddress } from './client-address.ts'
import {
  type CidrMatcher,
  type IpWords,
  createCidrMatcher,
  formatIp,
  parseIp,
  subnetOf,
} from './ip.ts'
import { type HeaderMap, type RequestFacts, cookieValue, headerValue } from './request.ts'

/**
 * How to learn the account behind a request. The guard never authenticates anyone: it reads an
 * identity the application has already established.
 * - `header`: a header the app (or its auth gateway) sets after authentication.
 * - `jwt`: the `sub` claim of a bearer token (or cookie). Only the payload is DECODED, the
 *   signature is NOT verified: use this only where the app itself verifies the token, otherwise
 *   a forged `sub` can impersonate (but only within HarvestGuard's accounting, not the app).
 * - `lookup`: a callback from a session cookie value to the account id (e.g. the app's session
 *   store); synchronous because it runs on every request.
 */
export type AccountResolver =
  | { readonly kind: 'header'; readonly header: string }
  | {
      readonly kind: 'jwt'
      /** @default 'authorization' (Bearer scheme) */
      readonly header?: string
      /** Read the token from this cookie instead of a header. */
      readonly cookie?: string
      /** @default 'sub' */
      readonly claim?: string
    }
  | {
      readonly kind: 'lookup'
      readonly cookie: string
      readonly lookup: (sessionValue: string) => string | undefined
    }

/** Options of {@link createPrincipalExtractor}. */
export interface PrincipalOptions {
  readonly keyer: Keyer
  /** CIDRs of reverse proxies whose forwarding header is believed. @default [] (none) */
  readonly trustedProxies?: readonly string[]
  /** Which forwarding header the trusted proxies write. @default 'x-forwarded-for' */
  readonly forwardedHeader?: ForwardedHeader
  readonly account?: AccountResolver
  /**
   * Where API keys come from: a `Bearer` token in Authorization (when no JWT account resolver
   * claims it) and/or these headers. @default { bearer: true, headers: ['x-api-key'] }
   */
  readonly apiKey?: { readonly bearer?: boolean; readonly headers?: readonly string[] }
  /** Session cookie names, first present wins. @default ['sid', 'session', 'connect.sid'] */
  readonly sessionCookies?: readonly string[]
  /** Header a TLS-terminating front proxy fills with a JA4 (or JA3) fingerprint. */
  readonly tlsFingerprintHeader?: string
  /** Distinct user agents whose facts (automation test, platform) are memoised. @default 4096 */
  readonly userAgentCacheSize?: number
}

/** Identities and client facts of one request. */
export interface RequestIdentity {
  readonly principals: Principal[]
  readonly client: Client
  /** Parsed client address (for allowlists and challenge binding); undefined if unparsable. */
  readonly words: IpWords | undefined
  /** Whether an account principal is present (catalogue `when: account`). */
  readonly hasAccount: boolean
}

// Headers whose presence and order is stable for one browser build; volatile ones (cookie,
// referer, sec-fetch-*, conditional headers) would split one device into many.
const STABLE_HEADERS = new Set([
  'host',
  'connection',
  'user-agent',
  'accept',
  'accept-language',
  'accept-encoding',
  'sec-ch-ua',
  'sec-ch-ua-mobile',
  'sec-ch-ua-platform',
  'upgrade-insecure-requests',
  'dnt',
])

function decodeJwtClaim(token: string, claim: string): string | undefined {
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  if (first < 0 || second < 0) return undefined
  try {
    const payload: unknown = JSON.parse(
      Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8'),
    )
    if (typeof payload !== 'object' || payload === null) return undefined
    const v = (payload as Record<string, unknown>)[claim]
    return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined
  } catch {
    return undefined
  }
}

function bearer(headers: HeaderMap, header = 'authorization'): string | undefined {
  const auth = headerValue(headers, header)
  if (auth === undefined) return undefined
  if (header !== 'authorization') return auth
  return auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer '
    ? auth.slice(7).trim()
    : undefined
}

/** Function that extracts a request's identities; compiled once from options. */
export type PrincipalExtractor = (request: RequestFacts) => RequestIdentity

/**
 * Compiles principal extraction: CIDR matchers, resolvers and caches are built once here, each
 * request then costs header lookups and a few keyed digests.
 */
export function createPrincipalExtractor(options: PrincipalOptions): PrincipalExtractor {
  const keyer = options.keyer
  const trusted: CidrMatcher = createCidrMatcher(options.trustedProxies ?? [], 'trustedProxies')
  const forwarded = options.forwardedHeader ?? 'x-forwarded-for'
  const account = options.account
  const apiBearer = options.apiKey?.bearer ?? true
  const apiHeaders = options.apiKey?.headers ?? ['x-api-key']
  const sessionCookies = options.sessionCookies ?? ['sid', 'session', 'connect.sid']
  const tlsHeader = options.tlsFingerprintHeader?.toLowerCase()
  const agentFacts = createUserAgentFacts(options.userAgentCacheSize ?? 4096)
  const digest = (ns: string, value: string): string => digestHex(keyer.digest(ns, value))
  const deviceCacheSize = options.userAgentCacheSize ?? 4096
  const devices = new Map<string, string>()
  // Per TCP peer address (a keep-alive connection sends many requests): parsed address, its
  // principals and whether it is a trusted proxy, so each request skips parsing and formatting.
  interface Peer {
    readonly address: ClientAddress
    readonly ip: Principal
    readonly net: Principal | undefined
    readonly trusted: boolean
  }
  const peers = new Map<string, Peer>()
  // Raw header name (any case) -> its part of the device's header order ('' when volatile).
  const headerParts = new Map<string, string>()
  const peerOf = (remoteAddress: string): Peer => {
    let peer = peers.get(remoteAddress)
    if (peer === undefined) {
      const words = parseIp(remoteAddress)
      const ip = words === undefined ? remoteAddress : formatIp(words)
      peer = {
        address: { ip, words },
        ip: `ip:${ip}`,
        net: words === undefined ? undefined : `net:${subnetOf(words)}`,
        trusted: words !== undefined && trusted.size > 0 && trusted.has(words),
      }
      if (peers.size >= deviceCacheSize) peers.delete(peers.keys().next().value as string)
      peers.set(remoteAddress, peer)
    }
    return peer
  }

  const resolveAccount = (headers: HeaderMap): string | undefined => {
    if (account === undefined) return undefined
    switch (account.kind) {
      case 'header':
        return headerValue(headers, account.header.toLowerCase()) || undefined
      case 'jwt': {
        const token =
          account.cookie !== undefined
            ? cookieValue(headers, account.cookie)
            : bearer(headers, account.header?.toLowerCase())
        return token === undefined ? undefined : decodeJwtClaim(token, account.claim ?? 'sub')
      }
      case 'lookup': {
        const sid = cookieValue(headers, account.cookie)
        return sid === undefined ? undefined : account.lookup(sid) || undefined
      }
    }
  }

  return (request) => {
    const headers = request.headers
    const peer = peerOf(request.remoteAddress)
    let address = peer.address
    const principals: Principal[] = []
    if (!peer.trusted) {
      principals.push(peer.ip)
      if (peer.net !== undefined) principals.push(peer.net)
    } else {
      // A trusted proxy speaks for the client: walk its forwarding header.
      address = resolveClientAddress(request.remoteAddress, headers[forwarded], forwarded, trusted)
      principals.push(`ip:${address.ip}`)
      if (address.words !== undefined) principals.push(`net:${subnetOf(address.words)}`)
    }

    const accountId = resolveAccount(headers)
    if (accountId !== undefined) principals.push(`account:${digest('account', accountId)}`)

    let key: string | undefined
    // A bearer token that is the account's JWT is a login, not a partner key.
    if (apiBearer && !(account?.kind === 'jwt' && account.cookie === undefined))
      key = bearer(headers)
    for (let i = 0; key === undefined && i < apiHeaders.length; i++)
      key = headerValue(headers, apiHeaders[i]!)
    if (key !== undefined && key !== '') principals.push(`key:${digest('key', key)}`)

    for (const name of sessionCookies) {
      const sid = cookieValue(headers, name)
      if (sid !== undefined && sid !== '') {
        principals.push(`session:${digest('session', sid)}`)
        break
      }
    }

    const ua = headerValue(headers, 'user-agent') ?? ''
    const names = request.rawHeaderNames ?? Object.keys(headers)
    let order = ''
    for (let i = 0; i < names.length; i++) {
      const n = names[i]!
      let part = headerParts.get(n)
      if (part === undefined) {
        const lower = n.toLowerCase()
        part = STABLE_HEADERS.has(lower) ? `${lower},` : ''
        // Header names are few (a name per header a client sends): bounded anyway.
        if (headerParts.size < 1024) headerParts.set(n, part)
      }
      order += part
    }
    const device =
      `${order}|${ua}|${headerValue(headers, 'accept-language') ?? ''}|` +
      `${headerValue(headers, 'accept-encoding') ?? ''}|${headerValue(headers, 'sec-ch-ua') ?? ''}|` +
      `${headerValue(headers, 'sec-ch-ua-platform') ?? ''}|${headerValue(headers, 'sec-ch-ua-mobile') ?? ''}|` +
      `${tlsHeader === undefined ? '' : (headerValue(headers, tlsHeader) ?? '')}`
    // Few distinct devices, many requests: memoise the digest (the input holds no credential).
    let deviceDigest = devices.get(device)
    if (deviceDigest === undefined) {
      deviceDigest = digest('device', device)
      if (devices.size >= deviceCacheSize) devices.delete(devices.keys().next().value as string)
      devices.set(device, deviceDigest)
    }
    principals.push(`device:${deviceDigest}`)

    const client: Client = {
      ip: address.ip,
      userAgent: ua,
      referer: headers['referer'] !== undefined,
      anomalies: computeAnomalies(request.method, headers, agentFacts, request.secure === true),
    }
    return { principals, client, words: address.words, hasAccount: accountId !== undefined }
  }
}
