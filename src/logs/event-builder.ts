/**
 * Turns parsed log lines into Events: principals (address, network, the user field as an account
 * or key, a device from the user agent), client anomalies a log can show (automation or missing
 * user agent, referer present) and exposures from the route catalogue's `count`/`key` and path
 * rules (logs carry no bodies).
 *
 * Per line the work is a few interned lookups by bytes; strings are decoded once per distinct
 * address, user, agent and path, and every keyed digest is cached the same way.
 */
import { isbot } from 'isbot'
import { ANOMALY, type Client, type Event, type ResourceKind } from '../core/index.ts'
import { digestHex, type Exposure } from '../core/index.ts'
import type { Keyer } from '../core/index.ts'
import { WEAK_DEVICE_PREFIX, type Principal } from '../core/index.ts'
import { logExposures, type Catalogue } from '../core/index.ts'
import { ByteInterner } from './byte-interner.ts'
import type { ParsedLine } from './parsed-line.ts'
import type { ScratchEvent } from './scratch-event.ts'

/** What the combined `$remote_user` field holds. */
export const USER_FIELD_KINDS = ['ignore', 'account', 'key', 'auto'] as const
/** One of {@link USER_FIELD_KINDS}. */
export type UserFieldKind = (typeof USER_FIELD_KINDS)[number]

/** Options of {@link createEventBuilder}. */
export interface EventBuilderOptions {
  /** Digests accounts, keys, devices and subjects. */
  readonly keyer: Keyer
  /** Route catalogue; without one no exposure is counted and routes stay ''. */
  readonly catalogue?: Catalogue | undefined
  /**
   * What `$remote_user` is: an account ID, an API-key ID, `auto` (a key when it matches
   * `keyPattern`, else an account) or `ignore`d. @default 'ignore'
   */
  readonly user?: UserFieldKind | undefined
  /** With `user: auto`, user values matching this are API keys. @default /^(?:key|pk|ak|partner)(?:[-_:]|\d)/i */
  readonly keyPattern?: RegExp | undefined
  /** Adds a `device:` principal digested from the user agent. @default true */
  readonly device?: boolean | undefined
}

const STATIC_EXT = new Set(
  'css js mjs map png jpg jpeg gif webp avif svg ico woff woff2 ttf otf eot mp4 webm mp3'.split(
    ' ',
  ),
)

/**
 * Whether the path in `buf[s, e)` names a static file by its extension, read from the bytes: on
 * a shop most lines are assets with unique paths (thumbnails per item), so they must not cost
 * a string, a cache entry or a route match each.
 */
function isStaticPath(buf: Uint8Array, s: number, e: number): boolean {
  let end = e
  for (let i = s; i < e; i++) {
    const c = buf[i]
    if (c === 63 || c === 35) {
      end = i
      break
    }
  }
  let dot = -1
  for (let i = end - 1; i > s && i >= end - 6; i--) {
    const c = buf[i] as number
    if (c === 46) {
      dot = i
      break
    }
    if (c === 47) return false
  }
  if (dot < 0) return false
  let ext = ''
  for (let i = dot + 1; i < end; i++) ext += String.fromCharCode((buf[i] as number) | 0x20)
  return STATIC_EXT.has(ext)
}

type SliceBuffer = Buffer & { latin1Slice?: (start: number, end: number) => string }

/** Decodes `buf[s, e)` as latin1 without a view object when `buf` is a Buffer. */
export function latin1(buf: Uint8Array, s: number, e: number): string {
  const b = buf as SliceBuffer
  if (typeof b.latin1Slice === 'function') return b.latin1Slice(s, e)
  return Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1')
}

interface Combo {
  readonly ua: UaEntry
  readonly user: UserEntry
  readonly principals: readonly Principal[]
  clientRef: Client | undefined
  clientNoRef: Client | undefined
}

interface IpEntry {
  readonly ip: string
  /** ip and net principals. */
  readonly principals: readonly Principal[]
  /** Principal lists and clients per (agent, user) seen from this address. */
  readonly combos: Map<UaEntry, Combo[]>
  last: Combo | undefined
  /** The last combination with a user (account or key), and the time of its last line. */
  lastUser: Combo | undefined
  lastUserMs: number
}

interface UserEntry {
  readonly principal: Principal | undefined
  readonly account: boolean
}

interface UaEntry {
  readonly ua: string
  readonly anomalies: number
  readonly principal: Principal | undefined
}

interface PathInfo {
  readonly route: string
  readonly resource: ResourceKind
  readonly ordinal: number
  exposures: readonly Exposure[] | undefined
  exposuresWithAccount: readonly Exposure[] | undefined
  readonly match: ReturnType<Catalogue['match']>
}

const NO_EXPOSURES: readonly Exposure[] = Object.freeze([])
/** How long after a line with a user an asset line without one still belongs to it. */
const ASSET_FOLLOW_MS = 60_000
const PAGE: PathInfo = Object.freeze({
  route: '',
  resource: 'page',
  ordinal: -1,
  exposures: NO_EXPOSURES,
  exposuresWithAccount: NO_EXPOSURES,
  match: undefined,
})
const ASSET: PathInfo = Object.freeze({
  route: '',
  resource: 'asset',
  ordinal: -1,
  exposures: NO_EXPOSURES,
  exposuresWithAccount: NO_EXPOSURES,
  match: undefined,
})

/**
 * Everything of an Event but its time, status and bytes, resolved from a parsed line. The
 * objects in it (principals, client, exposures) are shared between lines and must not be
 * mutated; `path` is set only when route matching needed the string.
 */
export interface ResolvedLine {
  client: Client
  principals: readonly Principal[]
  method: string
  path: string | undefined
  route: string
  resource: ResourceKind
  ordinal: number
  exposures: readonly Exposure[]
}

/** Builds an Event from a parsed line; reuse one builder for a whole analysis (its caches). */
export interface EventBuilder {
  build(line: ParsedLine): Event
  /** Overwrites `out` with the line's Event (no allocation once the caches are warm). */
  fill(line: ParsedLine, out: ScratchEvent): void
  /** Resolves a line without building the Event (one scratch object, overwritten per call). */
  resolve(line: ParsedLine): ResolvedLine
}

/** IPv4 /24 or IPv6 /48 of an address, '' when it is not one. */
export function networkOf(ip: string): string {
  const dot = ip.lastIndexOf('.')
  if (dot > 0 && ip.indexOf(':') < 0) {
    if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip)) return ''
    return `${ip.slice(0, dot)}.0/24`
  }
  if (ip.indexOf(':') < 0) return ''
  const words = expandV6(ip)
  if (words === undefined) return ''
  return `${words[0]}:${words[1]}:${words[2]}::/48`
}

function expandV6(ip: string): string[] | undefined {
  let s = ip
  const pct = s.indexOf('%')
  if (pct >= 0) s = s.slice(0, pct)
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1)
  const halves = s.split('::')
  if (halves.length > 2) return undefined
  const head = halves[0] === '' ? [] : (halves[0] as string).split(':')
  const tail = halves.length === 2 && halves[1] !== '' ? (halves[1] as string).split(':') : []
  // a dotted IPv4 tail (::ffff:1.2.3.4) counts as two words
  const last = tail.length > 0 ? tail[tail.length - 1] : head[head.length - 1]
  const v4tail = last !== undefined && last.includes('.') ? 1 : 0
  const fill = 8 - head.length - tail.length - v4tail
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined
  const words = [
    ...head,
    ...Array.from<string>({ length: halves.length === 2 ? fill : 0 }).fill('0'),
    ...tail,
  ]
  const out: string[] = []
  for (const w of words.slice(0, 3)) {
    if (!/^[0-9a-f]{1,4}$/i.test(w)) return undefined
    out.push(parseInt(w, 16).toString(16))
  }
  return out
}

/** Creates an {@link EventBuilder}. */
export function createEventBuilder(options: EventBuilderOptions): EventBuilder {
  const { keyer, catalogue } = options
  const userKind = options.user ?? 'ignore'
  const keyPattern = options.keyPattern ?? /^(?:key|pk|ak|partner)(?:[-_:]|\d)/i
  const withDevice = options.device ?? true

  const ips = new ByteInterner<IpEntry>((buf, s, e) => {
    const ip = latin1(buf, s, e)
    const net = networkOf(ip)
    const principals = Object.freeze(net === '' ? [`ip:${ip}`] : [`ip:${ip}`, `net:${net}`])
    return {
      ip,
      principals,
      combos: new Map(),
      last: undefined,
      lastUser: undefined,
      lastUserMs: 0,
    }
  })
  const users = new ByteInterner<UserEntry>((buf, s, e) => {
    const value = Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('utf8')
    if (userKind === 'ignore' || value === '-' || value === '')
      return { principal: undefined, account: false }
    const kind = userKind === 'auto' ? (keyPattern.test(value) ? 'key' : 'account') : userKind
    return {
      principal: `${kind}:${digestHex(keyer.digest(kind, value))}`,
      account: kind === 'account',
    }
  }, 1 << 20)
  const agents = new ByteInterner<UaEntry>((buf, s, e) => {
    const ua = latin1(buf, s, e)
    const anomalies = ua === '' ? ANOMALY.noUserAgent : isbot(ua) ? ANOMALY.automationAgent : 0
    return {
      ua,
      anomalies,
      principal:
        withDevice && ua !== ''
          ? // weak: the user agent alone names a browser build, not a device (see core)
            `${WEAK_DEVICE_PREFIX}${digestHex(keyer.digest('device', `ua|${ua}`))}`
          : undefined,
    }
  }, 65_536)
  const methods = new ByteInterner<string>(
    (buf, s, e) => latin1(buf, s, e).toUpperCase() || '-',
    256,
  )
  const noUa: UaEntry = { ua: '', anomalies: 0, principal: undefined }
  const noUser: UserEntry = { principal: undefined, account: false }

  // Paths repeat (items, pages, assets): route matching and subject digests are cached per path.
  let paths = new Map<string, PathInfo>()
  // each entry may hold a page of exposures (20 records ~ 1 KB): 32k entries cap it near 32 MB
  const PATH_CACHE = 32_768
  // Static files skip route matching unless the catalogue declares asset routes.
  const assetRoutes = catalogue?.routes.some((r) => r.resource === 'asset') ?? false
  const keyerFn = (ns: string, v: string): number => keyer.digest(ns, v)

  const hasRoutes = catalogue !== undefined && catalogue.routes.length > 0

  function pathInfo(method: string, path: string): PathInfo {
    const cacheKey = method === 'GET' ? path : `${method} ${path}`
    let info = paths.get(cacheKey)
    if (info !== undefined) return info
    const match = catalogue?.match(method, path)
    if (match !== undefined) {
      info = {
        route: match.route.id,
        resource: match.route.resource,
        ordinal: match.ordinal,
        exposures: undefined,
        exposuresWithAccount: undefined,
        match,
      }
    } else {
      info = {
        route: '',
        resource: 'page',
        ordinal: -1,
        exposures: NO_EXPOSURES,
        exposuresWithAccount: NO_EXPOSURES,
        match: undefined,
      }
    }
    if (paths.size >= PATH_CACHE) paths = new Map()
    paths.set(cacheKey, info)
    return info
  }

  const resolved: ResolvedLine = {
    client: undefined as unknown as Client,
    principals: [],
    method: '',
    path: undefined,
    route: '',
    resource: 'page',
    ordinal: -1,
    exposures: NO_EXPOSURES,
  }

  function resolve(line: ParsedLine): ResolvedLine {
    const buf = line.buf
    const ipE = ips.get(buf, line.ipStart, line.ipEnd)
    const userLen = line.userEnd - line.userStart
    const userE =
      userKind === 'ignore' || userLen === 0 || (userLen === 1 && buf[line.userStart] === 45)
        ? noUser
        : users.get(buf, line.userStart, line.userEnd)
    const uaE = line.uaEnd > line.uaStart ? agents.get(buf, line.uaStart, line.uaEnd) : noUa
    const ms = line.methodStart
    const method =
      line.methodEnd - ms === 3 && buf[ms] === 71 && buf[ms + 1] === 69 && buf[ms + 2] === 84
        ? 'GET'
        : line.methodEnd > ms
          ? methods.get(buf, ms, line.methodEnd)
          : '-'
    let path: string | undefined
    let info: PathInfo
    if (!assetRoutes && isStaticPath(buf, line.targetStart, line.targetEnd)) info = ASSET
    else if (!hasRoutes) info = PAGE
    else {
      path = latin1(buf, line.targetStart, line.targetEnd)
      info = pathInfo(method, path)
    }
    // Static files are served without the application resolving the session (nginx or a CDN in
    // front of it; the lab's shop too), so their lines name no user. Inline, the same requests
    // carry the session cookie and count for the account; here an asset line without a user
    // belongs to the account or key its address and agent used last, within ASSET_FOLLOW_MS.
    // Without it every logged-in visitor's account looks like a client that never loads an
    // asset (the no-assets signal): on the lab's 62-day log, 51 of 300 buyers were flagged so.
    const follow =
      userE === noUser &&
      userKind !== 'ignore' &&
      info.resource === 'asset' &&
      ipE.lastUser !== undefined &&
      ipE.lastUser.ua === uaE &&
      line.timeMs - ipE.lastUserMs <= ASSET_FOLLOW_MS
    // one visitor's lines come in runs: the last combination of this address is the usual hit;
    // otherwise the (agent, user) combination is looked up, so that an address shared by many
    // visitors (a carrier NAT) reuses its principal lists and clients instead of minting new ones
    let combo = follow ? (ipE.lastUser as Combo) : ipE.last
    if (combo === undefined || combo.ua !== uaE || (!follow && combo.user !== userE)) {
      let list = ipE.combos.get(uaE)
      if (list === undefined) ipE.combos.set(uaE, (list = []))
      combo = list.find((c) => c.user === userE)
      if (combo === undefined) {
        const principals = ipE.principals.slice()
        if (userE.principal !== undefined) principals.push(userE.principal)
        if (uaE.principal !== undefined) principals.push(uaE.principal)
        // Frozen: the engine keeps the ledgers of a frozen list it sees again (see Event).
        Object.freeze(principals)
        combo = { ua: uaE, user: userE, principals, clientRef: undefined, clientNoRef: undefined }
        list.push(combo)
      }
      ipE.last = combo
    }
    if (userE !== noUser) {
      ipE.lastUser = combo
      ipE.lastUserMs = line.timeMs
    }
    const principals = combo.principals
    let client = line.referer ? combo.clientRef : combo.clientNoRef
    if (client === undefined) {
      client = {
        ip: ipE.ip,
        userAgent: uaE.ua,
        referer: line.referer,
        anomalies: line.hasUserAgent ? (uaE === noUa ? ANOMALY.noUserAgent : uaE.anomalies) : 0,
      }
      if (line.referer) combo.clientRef = client
      else combo.clientNoRef = client
    }
    let exposures: readonly Exposure[] = NO_EXPOSURES
    // a response that failed disclosed nothing
    if (info.match !== undefined && line.status < 400) {
      if (userE.account) {
        exposures = info.exposuresWithAccount ??= logExposures(info.match, keyerFn, true)
      } else {
        exposures = info.exposures ??= logExposures(info.match, keyerFn, false)
      }
    }
    const r = resolved
    r.client = client
    r.principals = principals
    r.method = method
    r.path = path
    r.route = info.route
    r.resource = info.resource
    r.ordinal = info.ordinal
    r.exposures = exposures
    return r
  }

  return {
    resolve,
    fill(line: ParsedLine, out: ScratchEvent): void {
      const r = resolve(line)
      out.timeMs = line.timeMs
      out.method = r.method
      out.route = r.route
      out.setPath(r.path, line.buf, line.targetStart, line.targetEnd)
      out.status = line.status
      out.bytes = line.bytes
      out.resource = r.resource
      out.principals = r.principals
      out.exposures = r.exposures
      out.client = r.client
      out.ordinal = r.ordinal
    },
    build(line: ParsedLine): Event {
      const r = resolve(line)
      return {
        timeMs: line.timeMs,
        method: r.method,
        route: r.route,
        path: r.path ?? latin1(line.buf, line.targetStart, line.targetEnd),
        status: line.status,
        bytes: line.bytes,
        resource: r.resource,
        principals: r.principals,
        exposures: r.exposures,
        client: r.client,
        ordinal: r.ordinal,
      }
    },
  }
}
