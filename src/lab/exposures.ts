import {
  renderTemplate,
  bodyExposures,
  type Catalogue,
  type RouteMatch,
  type ResourceKind,
  type Digest,
  type Exposure,
  type Keyer,
} from '../core/index.ts'

/**
 * Exposures of one shop response, computed the way a body-seeing feeder computes them: the
 * catalogue's path rules plus its body rules applied to the response's JSON data. The numbered
 * `count`/`key` rules are for feeders that see no body and are skipped here, or every comment
 * page would count twice.
 */

/** What the catalogue says about one request and its response. */
export interface Exposed {
  readonly route: string
  readonly resource: ResourceKind
  readonly ordinal: number
  readonly exposures: Exposure[]
}

const NONE: Exposure[] = []

/**
 * A Keyer that remembers digests: the lab digests the same few hundred thousand subjects over
 * and over, and a keyed PRF costs a microsecond or two per call. Bounded: cleared when full.
 */
export function memoKeyer(keyer: Keyer, maxEntries = 4_000_000): Keyer {
  const memo = new Map<string, Digest>()
  // Numeric user subjects (the bulk) go to a typed array indexed by ID: no string hashing.
  const users = new Float64Array(1 << 22).fill(-1)
  const USER_BASE = 1_000_000
  return {
    digest(namespace, value) {
      if (namespace === 'user') {
        const n = +value - USER_BASE
        if (n >= 0 && n < users.length && (n | 0) === n) {
          let d = users[n] as number
          if (d < 0) users[n] = d = keyer.digest(namespace, value)
          return d
        }
      }
      const k = `${namespace}\u0000${value}`
      let d = memo.get(k)
      if (d === undefined) {
        if (memo.size >= maxEntries) memo.clear()
        d = keyer.digest(namespace, value)
        memo.set(k, d)
      }
      return d
    },
  }
}

/**
 * Memoises {@link exposeResponse} per (method, path, status, account): the shop's answer to a
 * path is a function of the path and of whether the caller is logged in, so its exposures are
 * too. Masked answers are not cached (the caller strips fields after). Bounded.
 */
export function createExposureCache(
  catalogue: Catalogue,
  keyer: Keyer,
  maxEntries = 300_000,
): (
  method: string,
  path: string,
  status: number,
  data: unknown,
  hasAccount: boolean,
  match?: RouteMatch,
) => Exposed {
  const cache = new Map<string, Exposed>()
  return (method, path, status, data, hasAccount, match) => {
    const k = `${hasAccount ? 'a' : '-'}${status}${method} ${path}`
    let hit = cache.get(k)
    if (hit === undefined) {
      if (cache.size >= maxEntries) cache.clear()
      hit = exposeResponse(catalogue, keyer, method, path, status, data, hasAccount, match)
      cache.set(k, hit)
    }
    return hit
  }
}

/**
 * Computes exposures from a response's data through the catalogue. `match` is the route match of
 * (method, path) when the caller already has it (it judged the request before answering).
 */
export function exposeResponse(
  catalogue: Catalogue,
  keyer: Keyer,
  method: string,
  path: string,
  status: number,
  data: unknown,
  hasAccount: boolean,
  match: RouteMatch | undefined = catalogue.match(method, path),
): Exposed {
  if (match === undefined) return { route: '', resource: 'other', ordinal: -1, exposures: NONE }
  const route = match.route
  if (
    status < 200 ||
    status >= 300 ||
    (route.pathRules.length === 0 && route.bodyRules.length === 0)
  ) {
    return { route: route.id, resource: route.resource, ordinal: match.ordinal, exposures: NONE }
  }
  let exposures: Exposure[] = NONE
  for (const rule of route.pathRules) {
    if (rule.numbered || (rule.accountOnly && !hasAccount)) continue
    const value = renderTemplate(rule.template, match)
    if (value === undefined) continue
    const subject = keyer.digest(rule.template.namespace, value)
    if (exposures === NONE) exposures = []
    const prior = exposures.findIndex((e) => e.subject === subject)
    if (prior >= 0)
      exposures[prior] = { subject, fields: (exposures[prior] as Exposure).fields | rule.fields }
    else exposures.push({ subject, fields: rule.fields })
  }
  if (route.bodyRules.length > 0 && data !== undefined) {
    const body = bodyExposures(match, data, keyer, hasAccount)
    if (body.length > 0) exposures = exposures === NONE ? body : exposures.concat(body)
  }
  return { route: route.id, resource: route.resource, ordinal: match.ordinal, exposures }
}
