/**
 * Header anomalies of a request as {@link ANOMALY} bits. Cheap checks on the raw headers that
 * separate browsers from scripts; each alone is weak (a proxy may strip Accept-Language), the
 * engine weighs them together with behaviour.
 */
import { ANOMALY } from '../core/index.ts'
import { isbot } from 'isbot'
import type { HeaderMap } from './request.ts'

/** What the anomaly checks read off a user agent string. */
export interface UserAgentFacts {
  /** A known automation or library agent (isbot). */
  readonly automation: boolean
  /** Claims Chrome or Chromium (which send client hints). */
  readonly chromium: boolean
  /** The platform it claims, in sec-ch-ua-platform spelling; '' when unclear. */
  readonly platform: string
}

function factsOf(userAgent: string, automation: boolean): UserAgentFacts {
  return {
    automation,
    chromium: userAgent.includes('Chrome/') || userAgent.includes('Chromium/'),
    platform: uaPlatform(userAgent),
  }
}

/**
 * The facts of a user agent, memoised per distinct string in a bounded map: the isbot pattern is
 * a long alternation and the platform a string scan, real traffic repeats a few hundred agents,
 * and a rotating harvester must not grow memory without bound.
 */
export function createUserAgentFacts(capacity = 4096): (userAgent: string) => UserAgentFacts {
  const cache = new Map<string, UserAgentFacts>()
  return (userAgent) => {
    const hit = cache.get(userAgent)
    if (hit !== undefined) return hit
    const facts = factsOf(userAgent, isbot(userAgent))
    if (cache.size >= capacity) cache.delete(cache.keys().next().value as string)
    cache.set(userAgent, facts)
    return facts
  }
}

/** Whether a user agent is a known automation or library agent (memoised, see above). */
export function createAutomationTest(capacity = 4096): (userAgent: string) => boolean {
  const facts = createUserAgentFacts(capacity)
  return (userAgent) => facts(userAgent).automation
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
 * means nothing. `agent` is an automation test or, cheaper per request, a user-agent facts memo.
 */
export function computeAnomalies(
  method: string,
  headers: HeaderMap,
  agent: (userAgent: string) => boolean | UserAgentFacts,
  secure: boolean,
): number {
  let bits = 0
  const ua = one(headers, 'user-agent')
  if (ua === undefined || ua === '') bits |= ANOMALY.noUserAgent
  if (headers['accept-language'] === undefined) bits |= ANOMALY.noAcceptLanguage
  if (ua !== undefined && ua !== '') {
    const known = agent(ua)
    const facts = typeof known === 'boolean' ? factsOf(ua, known) : known
    if (facts.automation) bits |= ANOMALY.automationAgent
    const hints = one(headers, 'sec-ch-ua')
    if (hints !== undefined) {
      const platform = one(headers, 'sec-ch-ua-platform')?.replaceAll('"', '')
      const claimed = facts.platform
      if (!facts.chromium || (platform !== undefined && claimed !== '' && platform !== claimed))
        bits |= ANOMALY.clientHintMismatch
    } else if (facts.chromium && secure) bits |= ANOMALY.clientHintMismatch
  }
  if (
    headers['proxy-connection'] !== undefined ||
    ((method === 'GET' || method === 'HEAD') && one(headers, 'content-length') === '0')
  )
    bits |= ANOMALY.foreignHeaders
  return bits
}
