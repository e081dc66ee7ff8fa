/**
 * Answers the guard gives instead of the application: RFC 9457 problem documents for API
 * clients, the challenge page for browsers. Plain data, so every adapter sends them its own way.
 */
import type { Action, Decision } from '../core/index.ts'

/** A complete response the guard sends in place of the application's. */
export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** Base of the problem `type` URIs (documented in docs/inline.md). */
export const PROBLEM_BASE = 'https://harvestguard.dev/problems/'

/**
 * A problem+json answer. `reasons` lists the signal names behind the decision (never the
 * measured values or thresholds, which would teach a harvester how far it can go).
 */
export function problemAnswer(
  status: number,
  kind: string,
  title: string,
  detail: string,
  decision: Decision | undefined,
  extraHeaders: Readonly<Record<string, string>> = {},
  extra: Readonly<Record<string, unknown>> = {},
): Answer {
  const reasons = decision?.readings.filter((r) => r.contribution > 0).map((r) => r.signal) ?? []
  const body = JSON.stringify({
    type: PROBLEM_BASE + kind,
    title,
    status,
    detail,
    reasons,
    ...extra,
  })
  return {
    status,
    headers: {
      'content-type': 'application/problem+json; charset=utf-8',
      'cache-control': 'no-store',
      ...extraHeaders,
    },
    body,
  }
}

/** Seconds until a decision lapses, at least 1, for `Retry-After`. */
export function retryAfterSeconds(
  decision: Decision | undefined,
  nowMs: number,
  fallbackS: number,
): number {
  if (decision === undefined) return fallbackS
  return Math.max(1, Math.min(fallbackS, Math.ceil((decision.expiresAtMs - nowMs) / 1000)))
}

/** Titles of the problem documents per action. */
export const ACTION_TITLES: Readonly<Partial<Record<Action, string>>> = {
  throttle: 'Too many requests',
  challenge: 'Verification required',
  block: 'Access denied',
}
