/**
 * no-referer: share of page requests without a Referer header, over the recent sample.
 *
 * Why it points to harvesting: people arrive at most pages by following a link, so browsers send
 * a Referer on most navigations (the first page of a visit and bookmarks are the exceptions). A
 * crawler that builds URLs from IDs sends none.
 *
 * How an adversary could dodge it: forge a plausible Referer. It is a weak signal on purpose
 * (privacy extensions strip Referers too) and only adds to others.
 */
import type { Ledger } from '../ledger.ts'
import { formatCount, formatShare, type Signal, type SignalContext } from '../signal.ts'

function share(ledger: Ledger): number {
  return ledger.pages === 0 ? 0 : ledger.pagesNoReferer / ledger.pages
}

/** Pages requested without a Referer. */
export const noReferer: Signal = {
  name: 'no-referer',
  index: 5,
  points(ledger, ctx: SignalContext) {
    const p = ctx.policy.settings.signals['no-referer']
    if (ledger.pages < p.minPages) return 0
    return share(ledger) >= p.minShare ? p.points : 0
  },
  value(ledger) {
    return share(ledger)
  },
  note(ledger) {
    return `${formatCount(ledger.pagesNoReferer)} of ${formatCount(ledger.pages)} pages without a referer (${formatShare(share(ledger))})`
  },
}
