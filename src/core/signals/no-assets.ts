/**
 * no-assets: share of page requests not accompanied by asset loads (stylesheets, scripts,
 * images), over the recent sample: `1 - assets / pages`, floored at 0.
 *
 * Why it points to harvesting: a browser fetches a page's assets (or revalidates them); an HTTP
 * library fetching HTML to scrape it does not. The threat model's swarm never loads assets.
 *
 * How an adversary could dodge it: drive a real (headless) browser, which is slower and costs
 * far more per record, or fetch a few assets for show. API-only clients are not judged by it
 * (it counts page requests only).
 */
import type { Ledger } from '../ledger.ts'
import { formatCount, formatShare, type Signal, type SignalContext } from '../signal.ts'

function share(ledger: Ledger): number {
  const pages = ledger.pages
  if (pages === 0) return 0
  const s = 1 - ledger.assets / pages
  return s > 0 ? s : 0
}

/** Pages fetched without their assets. */
export const noAssets: Signal = {
  name: 'no-assets',
  index: 4,
  points(ledger, ctx: SignalContext) {
    const p = ctx.policy.settings.signals['no-assets']
    if (ledger.pages < p.minPages) return 0
    return share(ledger) >= p.minShare ? p.points : 0
  },
  value(ledger) {
    return share(ledger)
  },
  note(ledger) {
    return `${formatCount(ledger.pages)} pages with ${formatCount(ledger.assets)} asset loads (${formatShare(share(ledger))} bare)`
  },
}
