/**
 * The framework-neutral view of a request that every HTTP feeder (node, Express, Fastify, Hono,
 * proxy) hands to the guard. Built cheaply from what each framework already has.
 */

/** Request headers by lowercase name, as node:http presents them. */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | undefined>>

/** What the guard needs to know about a request. */
export interface RequestFacts {
  readonly method: string
  /** Path with query string, as received. */
  readonly url: string
  /** TCP peer address (`socket.remoteAddress`); '' when unknown. */
  readonly remoteAddress: string
  readonly headers: HeaderMap
  /**
   * Header names in the order the client sent them (node's `rawHeaders` even entries); when
   * absent, the order of `headers` is used, which frameworks may have normalised.
   */
  readonly rawHeaderNames?: readonly string[]
  /** Whether the client reached us over TLS (directly or per a trusted proxy). @default false */
  readonly secure?: boolean
}

/** Header names of node's `rawHeaders` (name, value, name, value…). */
export function rawHeaderNames(rawHeaders: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) out.push(rawHeaders[i]!)
  return out
}

/** First value of a header. */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name]
  return v === undefined ? undefined : typeof v === 'string' ? v : v[0]
}

/** Value of one cookie from the Cookie header, undefined when absent. */
export function cookieValue(headers: HeaderMap, name: string): string | undefined {
  const raw = headers['cookie']
  if (raw === undefined) return undefined
  const text = typeof raw === 'string' ? raw : raw.join('; ')
  let at = 0
  while (at < text.length) {
    let end = text.indexOf(';', at)
    if (end < 0) end = text.length
    const eq = text.indexOf('=', at)
    if (eq > at && eq < end && text.slice(at, eq).trim() === name) {
      let v = text.slice(eq + 1, end).trim()
      if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1)
      try {
        return decodeURIComponent(v)
      } catch {
        return v
      }
    }
    at = end + 1
  }
  return undefined
}
