/**
 * IP addresses and CIDR ranges for client attribution. Addresses are held as four 32-bit words
 * (IPv4 as IPv4-mapped IPv6) so one matcher serves both families with integer compares only.
 */
import { HarvestGuardError } from '../core/index.ts'

/** Code raised when a configured CIDR (trusted proxies, allowlist) does not parse. */
export const HTTP_BAD_CIDR = 'HG_HTTP_BAD_CIDR'

/** An address as four big-endian 32-bit words. */
export type IpWords = readonly [number, number, number, number]

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

function parseV4(text: string): number | undefined {
  const m = V4_RE.exec(text)
  if (m === null) return undefined
  let out = 0
  for (let i = 1; i <= 4; i++) {
    const n = Number(m[i])
    if (n > 255) return undefined
    out = out * 256 + n
  }
  return out
}

/**
 * Parses an IPv4 or IPv6 address (zone ids and brackets tolerated) into words; `undefined`
 * when it is not one. IPv4 becomes `::ffff:a.b.c.d`, so both spellings match the same ranges.
 */
export function parseIp(input: string): IpWords | undefined {
  let text = input.trim()
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1)
  const zone = text.indexOf('%')
  if (zone >= 0) text = text.slice(0, zone)
  const v4 = parseV4(text)
  if (v4 !== undefined) return [0, 0, 0xffff, v4]
  if (!text.includes(':')) return undefined
  // Embedded dotted quad in the last 32 bits (::ffff:1.2.3.4).
  let tailV4: number | undefined
  const lastColon = text.lastIndexOf(':')
  if (text.indexOf('.', lastColon) >= 0) {
    tailV4 = parseV4(text.slice(lastColon + 1))
    if (tailV4 === undefined) return undefined
    text = `${text.slice(0, lastColon + 1)}0:0`
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const head = halves[0] === '' ? [] : halves[0]!.split(':')
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1]!.split(':') : []
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]
  const words = [0, 0, 0, 0]
  for (let i = 0; i < 8; i++) {
    const g = groups[i]!
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined
    const v = parseInt(g, 16)
    words[i >> 1] = i % 2 === 0 ? v * 0x10000 : words[i >> 1]! + v
  }
  if (tailV4 !== undefined) words[3] = tailV4
  return words as unknown as IpWords
}

/** Whether the words are an IPv4(-mapped) address. */
export function isV4(words: IpWords): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff
}

/**
 * Canonical text of an address: dotted quad for IPv4 and IPv4-mapped IPv6 (Node reports
 * `::ffff:127.0.0.1` on dual-stack sockets), RFC 5952 compressed lowercase for IPv6.
 */
export function formatIp(words: IpWords): string {
  if (isV4(words)) {
    const v = words[3]
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`
  }
  const groups: number[] = []
  for (const w of words) groups.push(w >>> 16, w & 0xffff)
  // Longest run of zero groups (length >= 2) becomes '::'.
  let bestAt = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) {
      bestAt = i
      bestLen = j - i
    }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestAt < 0) return hex.join(':')
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`
}

/** Canonical text of an address string, or `undefined` when it is not an address. */
export function normalizeIp(input: string): string | undefined {
  const words = parseIp(input)
  return words === undefined ? undefined : formatIp(words)
}

/**
 * The network of an address for the `net:` principal: /24 for IPv4, /48 for IPv6 (a typical
 * site allocation), e.g. `203.0.113.0/24`, `2001:db8:1::/48`.
 */
export function subnetOf(words: IpWords): string {
  if (isV4(words)) return `${formatIp([0, 0, 0xffff, words[3] & 0xffffff00])}/24`
  return `${formatIp([words[0], words[1] & 0xffff0000, 0, 0])}/48`
}

/** A compiled set of CIDR ranges. */
export interface CidrMatcher {
  /** Whether the address lies in any range; false for text that is not an address. */
  has(address: string | IpWords): boolean
  /** Number of ranges compiled. */
  readonly size: number
}

interface Range {
  readonly base: IpWords
  readonly mask: IpWords
}

function maskWords(prefix: number): IpWords {
  const out = [0, 0, 0, 0]
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, prefix - i * 32))
    out[i] = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  }
  return out as unknown as IpWords
}

/**
 * Compiles CIDR ranges (`10.0.0.0/8`, `::1/128`, bare addresses as single hosts) once, so each
 * request costs a few integer compares. Throws `HG_HTTP_BAD_CIDR` naming the bad entry.
 */
export function createCidrMatcher(cidrs: readonly string[], where = 'cidr'): CidrMatcher {
  const ranges: Range[] = []
  cidrs.forEach((entry, index) => {
    const slash = entry.indexOf('/')
    const addr = parseIp(slash >= 0 ? entry.slice(0, slash) : entry)
    const v4 = addr !== undefined && isV4(addr)
    const maxBits = v4 ? 32 : 128
    const bits = slash >= 0 ? Number(entry.slice(slash + 1)) : maxBits
    if (addr === undefined || !Number.isInteger(bits) || bits < 0 || bits > maxBits) {
      throw new HarvestGuardError(
        HTTP_BAD_CIDR,
        `${where}[${index}]: not an IP address or CIDR range: ${JSON.stringify(entry)}`,
      )
    }
    const mask = maskWords(v4 ? bits + 96 : bits)
    const base = addr.map((w, i) => (w & mask[i]!) >>> 0) as unknown as IpWords
    ranges.push({ base, mask })
  })
  return {
    size: ranges.length,
    has(address) {
      if (ranges.length === 0) return false
      const w = typeof address === 'string' ? parseIp(address) : address
      if (w === undefined) return false
      for (const r of ranges) {
        if (
          (w[0] & r.mask[0]) >>> 0 === r.base[0] &&
          (w[1] & r.mask[1]) >>> 0 === r.base[1] &&
          (w[2] & r.mask[2]) >>> 0 === r.base[2] &&
          (w[3] & r.mask[3]) >>> 0 === r.base[3]
        )
          return true
      }
      return false
    },
  }
}
