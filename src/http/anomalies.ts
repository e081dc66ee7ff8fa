/**
 * Header anomalies of a request as {@link ANOMALY} bits. Cheap checks on the raw headers that
 * separate browsers from scripts; each alone is weak (a proxy may strip Accept-Language), the
 * engine weighs them together with behaviour.
 */
import { ANOMALY } from '../core/index.ts'
import { isbot } from 'isbot'
import type { HeaderMap } from './request.ts'

/**
 * Whether a user agent is a known automation or library agent, memoised per distinct string
 * in a bounded map: the isbot pattern is a long alternation and real traffic repeats a few
 * hundred agents, while a rotating harvester must not grow memory without bound.
 */
export function createAutomationTest(capacity = 4096): (userAgent: string) => boolean {
  const cache = new Map<string, boolean>()
  return (userAgent) => {
    const hit = cache.get(userAgent)
    if (hit !== undefined) return hit
    const result = isbot(userAgent)
    if (cache.size >= capacity) cache.delete(cache.keys().next().value as string)
    cache.set(userAgent, result)
    return result
  }
}

function one(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name]
  return v === undefined ? undefined : typeof v === 'string' ? v : v[0]
}

/** Platform a UA string claims, in sec-ch-ua-platform spelling; '' when unclear. */
function uaPlatform(ua: string): string {
  if (ua.includes('Android')) return 'Android'
  if (ua.includes('Windows')) return 'Windows'
  if (ua.includes('iPhone') || ua.includes('iPad')) return 'iOS'
  if (ua.includes('Mac OS X')) return 'macOS'
  if (ua.includes('CrOS')) return 'Chrome OS'
  if (ua.includes('Linux')) return 'Linux'
  return ''
}

/**
 * Computes the anomaly bits of one request. `secure` says whether the page was reached over
 * a secure context, where Chromium always sends client hints; over plain HTTP their absence
 * means nothing.
 */
export function computeAnomalies(
  method: string,
  headers: HeaderMap,
  isAutomation: (userAgent: string) => boolean,
  secure: boolean,
): number {
  let bits = 0
  const ua = one(headers, 'user-agent')
  if (ua === undefined || ua === '') bits |= ANOMALY.noUserAgent
  else if (isAutomation(ua)) bits |= ANOMALY.automationAgent
  if (headers['accept-language'] === undefined) bits |= ANOMALY.noAcceptLanguage
  const hints = one(headers, 'sec-ch-ua')
  if (ua !== undefined && ua !== '') {
    const chromium = ua.includes('Chrome/') || ua.includes('Chromium/')
    if (hints !== undefined) {
      const platform = one(headers, 'sec-ch-ua-platform')?.replace(/"/g, '')
      const claimed = uaPlatform(ua)
      if (!chromium || (platform !== undefined && claimed !== '' && platform !== claimed))
        bits |= ANOMALY.clientHintMismatch
    } else if (chromium && secure) bits |= ANOMALY.clientHintMismatch
  }
  if (
    headers['proxy-connection'] !== undefined ||
    ((method === 'GET' || method === 'HEAD') && one(headers, 'content-length') === '0')
  )
    bits |= ANOMALY.foreignHeaders
  return bits
}
