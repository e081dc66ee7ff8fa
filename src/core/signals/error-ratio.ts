/**
 * error-ratio: share of 4xx responses, overall and among requests naming an ID (the worse of
 * the two counts), over the recent sample.
 *
 * Why it points to harvesting: an enumerator guesses IDs and many do not exist (404) or are not
 * visible to it (403); people follow links that work. A high error share while naming IDs is
 * the trace of guessing.
 *
 * How an adversary could dodge it: harvest IDs from listings first, then fetch only those that
 * exist. Broken links and expired sessions make a few errors normal, hence a minimum sample.
 */
import type { Ledger } from '../ledger.ts'
import { formatCount, formatShare, type Signal, type SignalContext } from '../signal.ts'

function share(ledger: Ledger, minRequests: number): number {
  const all = ledger.sample === 0 ? 0 : ledger.errors / ledger.sample
  const ids =
    ledger.ordinalRequests < minRequests ? 0 : ledger.ordinalErrors / ledger.ordinalRequests
  return all > ids ? all : ids
}

/** 4xx responses, especially while naming IDs. */
export const errorRatio: Signal = {
  name: 'error-ratio',
  index: 7,
  points(ledger, ctx: SignalContext) {
    const p = ctx.policy.settings.signals['error-ratio']
    if (ledger.sample < p.minRequests) return 0
    return share(ledger, p.minRequests) >= p.minShare ? p.points : 0
  },
  value(ledger, ctx) {
    return share(ledger, ctx.policy.settings.signals['error-ratio'].minRequests)
  },
  note(ledger) {
    if (ledger.ordinalRequests > 0 && ledger.ordinalErrors > 0) {
      return `${formatCount(ledger.ordinalErrors)} of ${formatCount(ledger.ordinalRequests)} ID lookups failed (${formatShare(ledger.ordinalErrors / ledger.ordinalRequests)}), ${formatShare(ledger.errors / ledger.sample)} of all requests`
    }
    return `${formatCount(ledger.errors)} of ${formatCount(ledger.sample)} requests failed with 4xx (${formatShare(ledger.errors / ledger.sample)})`
  },
}
