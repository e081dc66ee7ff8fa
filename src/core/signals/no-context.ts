/**
 * no-context: personal records taken straight from the API by a principal that never loaded a
 * page or an asset, on requests that carried neither a Referer nor a partner key. The value is
 * the number of such records in the recent sample (0 as soon as the principal has loaded any
 * page or asset).
 *
 * Why it points to harvesting: on a web platform the API is called by the platform's own pages:
 * a browser loads a page (and its scripts, styles, images), and the page's scripts call the API
 * with the page as Referer. A client that calls the record APIs cold, by ID, with no page, no
 * asset and no Referer, is a program that has learned the API, not a person using the site. The
 * threat model's swarm (A3) and account farm (A5) do exactly this; every benign web population
 * (B1-B3, B6) arrives through a page.
 *
 * What it spares: requests with a partner key (B4: API clients by contract are programs), and
 * any principal that has loaded a page or an asset. Platforms with legitimate keyless API
 * clients (a mobile app calling the API directly) should give those clients a key or set this
 * signal's weight to 0 for the classes they use.
 *
 * How an adversary could dodge it: load a page and its assets now and then and forge Referers.
 * That costs it requests and bandwidth per identity, and leaves it to the volume and rhythm
 * signals (the mimic, A4, does it and is judged on those).
 */
import type { Ledger } from '../ledger.ts'
import { formatCount, type Signal, type SignalContext } from '../signal.ts'

function bare(ledger: Ledger): number {
  return ledger.pages + ledger.assets === 0 ? ledger.bareRecords : 0
}

/** Records taken from the API with no page, asset or Referer. */
export const noContext: Signal = {
  name: 'no-context',
  index: 8,
  points(ledger, ctx: SignalContext) {
    const p = ctx.policy.settings.signals['no-context']
    return bare(ledger) >= p.minRecords ? p.points : 0
  },
  value(ledger) {
    return bare(ledger)
  },
  note(ledger) {
    return `${formatCount(bare(ledger))} records taken from the API without loading any page or asset, and without a referer`
  },
}
