/**
 * header-anomalies: requests whose headers no mainstream browser would send: an automation or
 * HTTP-library user agent (isbot patterns), no Accept-Language, client hints contradicting the
 * user agent, headers browsers never send, no User-Agent at all. Feeders compute the bits per
 * request (Event.client.anomalies); the ledger counts each kind over the recent sample.
 *
 * Why it points to harvesting: quick crawlers are written with HTTP libraries and keep their
 * defaults (the sprinter's `python-requests/2.31`). Verified search crawlers also match the
 * automation patterns: they are allowlisted by network, never judged.
 *
 * Requests with a partner key are not counted (the ledger skips them): an API client is a
 * program by contract and says so; the key class also weighs this signal 0. A partner insider is
 * judged on what it takes and on its rhythm instead.
 *
 * How an adversary could dodge it: copy a browser's headers exactly. Cheap to do, so this signal
 * catches the careless, and the behavioural signals catch the careful.
 */
import type { Ledger } from '../ledger.ts'
import { formatShare, type Signal, type SignalContext } from '../signal.ts'

function others(ledger: Ledger): readonly [string, number][] {
  return [
    ['no Accept-Language', ledger.noAcceptLanguage],
    ['client-hint mismatch', ledger.hintMismatch],
    ['foreign headers', ledger.foreignHeaders],
    ['no User-Agent', ledger.noUserAgent],
  ]
}

function points(ledger: Ledger, ctx: SignalContext): number {
  const p = ctx.policy.settings.signals['header-anomalies']
  const sample = ledger.sample
  if (ledger.requests < p.minRequests || ledger.anomalous === 0 || sample === 0) return 0
  const min = p.minShare * sample
  let total = 0
  if (ledger.automation >= min) total += p.automationPoints
  if (ledger.noAcceptLanguage >= min) total += p.otherPoints
  if (ledger.hintMismatch >= min) total += p.otherPoints
  if (ledger.foreignHeaders >= min) total += p.otherPoints
  if (ledger.noUserAgent >= min) total += p.otherPoints
  return total
}

/** Automation user agents and other header anomalies. */
export const headerAnomalies: Signal = {
  name: 'header-anomalies',
  index: 6,
  points,
  value(ledger) {
    return ledger.sample === 0 ? 0 : ledger.anomalous / ledger.sample
  },
  note(ledger) {
    const sample = ledger.sample
    const parts: string[] = []
    if (ledger.automation > 0) {
      parts.push(`automation user agent on ${formatShare(ledger.automation / sample)}`)
    }
    for (const [what, n] of others(ledger)) {
      if (n > 0) parts.push(`${what} on ${formatShare(n / sample)}`)
    }
    return `${parts.join(', ')} of requests`
  },
}
