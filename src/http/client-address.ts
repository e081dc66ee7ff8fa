/**
 * The client's address behind trusted reverse proxies. Forwarding headers are believed only when
 * the TCP peer is a configured trusted proxy: anyone can write `X-Forwarded-For: 1.2.3.4`, and a
 * harvester that could pick its own address would rotate identities for free.
 */
import { type CidrMatcher, type IpWords, formatIp, parseIp } from './ip.ts'

/** Forwarding headers a front proxy may set; the operator names the one theirs writes. */
export const FORWARDED_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'] as const
/** One of {@link FORWARDED_HEADERS}. */
export type ForwardedHeader = (typeof FORWARDED_HEADERS)[number]

/** The resolved client address: canonical text and parsed words. */
export interface ClientAddress {
  readonly ip: string
  readonly words: IpWords | undefined
}

function forwardedFor(value: string): string[] {
  // RFC 7239: `for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`.
  const out: string[] = []
  for (const element of value.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=')
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue
      let v = pair
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '')
      if (v.startsWith('[')) v = v.slice(1, v.indexOf(']') >= 0 ? v.indexOf(']') : undefined)
      else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(v)) v = v.slice(0, v.lastIndexOf(':'))
      out.push(v)
    }
  }
  return out
}

function headerText(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : value.join(',')
}

/**
 * Resolves the client address from the TCP peer and, only if the peer is trusted, the chosen
 * forwarding header, walking it right to left past further trusted hops. With no trusted
 * proxies (the default) the peer address is the answer whatever the headers say.
 */
export function resolveClientAddress(
  remoteAddress: string,
  headerValue: string | readonly string[] | undefined,
  header: ForwardedHeader,
  trusted: CidrMatcher,
): ClientAddress {
  const peer = parseIp(remoteAddress)
  const peerResult = { ip: peer === undefined ? remoteAddress : formatIp(peer), words: peer }
  if (peer === undefined || trusted.size === 0 || !trusted.has(peer)) return peerResult
  const text = headerText(headerValue)
  if (text === undefined || text === '') return peerResult
  const hops =
    header === 'forwarded' ? forwardedFor(text) : header === 'x-real-ip' ? [text] : text.split(',')
  let result = peerResult
  for (let i = hops.length - 1; i >= 0; i--) {
    const words = parseIp(hops[i]!)
    // Garbage in a hop we were told to trust ends the walk at the last good address.
    if (words === undefined) break
    result = { ip: formatIp(words), words }
    if (!trusted.has(words)) break
  }
  return result
}
