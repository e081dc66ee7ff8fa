/**
 * A Principal is one identity a request can be attributed to, written `kind:value`
 * (`ip:203.0.113.7`, `net:203.0.113.0/24`, `account:…`, `key:…`, `session:…`, `device:…`).
 * Values of `account`, `key`, `session` and `device` are keyed digests, never the raw
 * credential: a principal string may land in state, journals and reports.
 */
export const PRINCIPAL_KINDS = ['ip', 'net', 'account', 'key', 'session', 'device'] as const

/** Index of each kind in {@link PRINCIPAL_KINDS} (the hot path works with indexes). */
export const KIND = Object.freeze({
  ip: 0,
  net: 1,
  account: 2,
  key: 3,
  session: 4,
  device: 5,
} as const satisfies Record<(typeof PRINCIPAL_KINDS)[number], number>)

/** One of {@link PRINCIPAL_KINDS}. */
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number]

/** `kind:value`, see {@link PRINCIPAL_KINDS}. */
export type Principal = string

/** Builds `kind:value`. */
export function toPrincipal(kind: PrincipalKind, value: string): Principal {
  return `${kind}:${value}`
}

/** The kind part of a principal; throws on a string that is not one. */
export function principalKind(principal: Principal): PrincipalKind {
  const colon = principal.indexOf(':')
  const kind = colon > 0 ? principal.slice(0, colon) : ''
  if (!(PRINCIPAL_KINDS as readonly string[]).includes(kind)) {
    throw new TypeError(`not a principal (expected kind:value): ${JSON.stringify(principal)}`)
  }
  return kind as PrincipalKind
}

/**
 * A weak device: one a feeder could name by the user agent alone (an access log line carries no
 * other header), written `device:ua-<digest>`. Everyone with the same browser build shares it,
 * so it says nothing about who is behind a request: the engine keeps no ledger for it (it would
 * only add up everyone's records into decisions on the build) and actors are never linked
 * through it (see ActorGraph); reports list it with the identities that used it. Inline feeders
 * fingerprint the device from several headers and never produce this prefix.
 */
export const WEAK_DEVICE_PREFIX = 'device:ua-'

/** Whether a principal is weak (see {@link WEAK_DEVICE_PREFIX}): no ledger, never links actors. */
export function isWeakPrincipal(principal: Principal): boolean {
  return principal.startsWith(WEAK_DEVICE_PREFIX)
}

/** The value part of a principal (everything after the first colon). */
export function principalValue(principal: Principal): string {
  return principal.slice(principal.indexOf(':') + 1)
}
