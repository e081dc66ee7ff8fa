/**
 * distinct-records: weighted distinct personal records served to the principal in each window,
 * against its class's budget for that window (the worst window counts).
 *
 * Why it points to harvesting: harvesting is, by definition, accumulating far more distinct
 * records than a role needs. Counting distinct records (not requests) ignores reloads and
 * pagination of the same data, and weighting by the heaviest field class served in the clear
 * (phone 3, name 1, comment 0.25) makes contact data run out of budget first. This is the
 * signal that would have stopped the Taobao partner: 4.5 million records a day against a
 * partner budget of thousands.
 *
 * Addresses and subnets: the budget is multiplied by the number of device fingerprints seen
 * with them (at least 1): a NAT with dozens of people gets dozens of budgets.
 *
 * How an adversary could dodge it: spread the crawl over many identities so each stays under
 * budget (swarm, account farm). Counter: shared identities (net, device) have their own
 * ledgers and budgets, and actor linking carries a decision to every identity of the actor.
 * Going slower than the longest window's budget works but caps the loot at that budget.
 */
import type { Ledger } from '../ledger.ts'
import { formatCount, type Signal, type SignalContext } from '../signal.ts'

// Worst window of a ledger as a ratio to its budget; index written to `worst` (no allocation).
let worst = 0

// People behind an address or subnet (device fingerprints seen with it): its budget scales with
// them, so a NAT with hundreds of people is never judged on volume as if it were one reader.
function people(ledger: Ledger): number {
  const c = ledger.crowd
  return c > 1 ? c : 1
}

function worstRatio(ledger: Ledger, ctx: SignalContext): number {
  const cls = ctx.policy.classes[ctx.kind]!
  const budgets = cls.budgets
  let best = 0
  worst = 0
  for (let w = 0; w < budgets.length; w++) {
    const budget = budgets[w]!
    if (budget === Infinity) continue
    const ratio = ledger.weighted(w, ctx.timeMs, ctx.policy) / (budget * people(ledger))
    if (ratio > best) {
      best = ratio
      worst = w
    }
  }
  return best
}

/** Weighted distinct records against the class budget, worst window. */
export const distinctRecords: Signal = {
  name: 'distinct-records',
  index: 0,
  points(ledger, ctx) {
    if (ledger.records === 0) return 0
    const ratio = worstRatio(ledger, ctx)
    const points = ratio * ctx.policy.settings.signals['distinct-records'].pointsAtBudget
    const cap = ctx.policy.classes[ctx.kind]!.volumeCap
    return points > cap ? cap : points
  },
  value(ledger, ctx) {
    return worstRatio(ledger, ctx)
  },
  note(ledger, ctx) {
    worstRatio(ledger, ctx)
    const w = worst
    const policy = ctx.policy
    const distinct = ledger.distinct(w, ctx.timeMs)
    const weighted = ledger.weighted(w, ctx.timeMs, policy)
    const budget = policy.classes[ctx.kind]!.budgets[w]! * people(ledger)
    const name = policy.windowNames[w]
    const weight =
      Math.abs(weighted - distinct) >= 0.5 ? ` (weighted ${formatCount(Math.round(weighted))})` : ''
    return `${formatCount(Math.round(distinct))} distinct records in ${name}${weight}, budget ${formatCount(Math.round(budget))}`
  },
}
