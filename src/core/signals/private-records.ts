/**
 * private-records: distinct records served with private contact data in the clear (any field
 * class weighing more than a plain identifier: phone, email, address, national ID) in one
 * window (24h), against the class's `privateBudget`, and in the longest window (30d) against
 * `longestWindowMultiple` times that budget; the worse ratio counts. Scored like
 * distinct-records: `pointsAtBudget` at the budget, linearly below and above it, capped by the
 * class's `volumeCap`.
 *
 * Why it points to harvesting: a person's role bounds how many strangers' phone numbers they
 * need. A buyer contacts a few sellers and commenters a day (the threat model's B3: a handful),
 * while a heavy shopper reads thousands of public nicknames and comments but no contact data.
 * The weighted total of distinct-records cannot tell those two apart in an hour (20 names per
 * item page add up as fast as phone numbers); a separate, small budget on contact data can.
 * The mimic (A4) reads every commenter's profile with the phone logged-in users see.
 *
 * Classes without a privateBudget (shared identities, partner keys whose role is contact
 * lookups and whose own budget already weighs phones 3x) are not judged by it.
 *
 * The longest window is for the patient: one account reading its full daily budget every day
 * (the mimic rests a refused account for a day and comes back) stays under any daily budget but
 * not under a monthly one; a person's contacts do not add up that way.
 *
 * How an adversary could dodge it: spread the reads over many accounts (the farm, A5). Then each
 * fresh account that reads cold from the API trips no-context, and accounts used from one
 * device or address are linked into one actor.
 */
import type { Ledger } from '../ledger.ts'
import { formatCount, type Signal, type SignalContext } from '../signal.ts'

function privateDistinct(ledger: Ledger, ctx: SignalContext, w: number): number {
  const weights = ctx.policy.tierWeights
  let total = 0
  for (let t = 1; t < weights.length; t++) {
    if ((weights[t] as number) > 1) total += ledger.tierDistinct(t, w, ctx.timeMs)
  }
  return total
}

// The window the last ratio() was worst in, and its budget (note() reads them: single-threaded).
let worstWindow = 0
let worstBudget = 0

function ratio(ledger: Ledger, ctx: SignalContext): number {
  const policy = ctx.policy
  const budget = policy.classes[ctx.kind]!.privateBudget
  worstWindow = policy.privateWindow
  worstBudget = budget
  if (budget === Infinity || ledger.records === 0) return 0
  const short = privateDistinct(ledger, ctx, worstWindow) / budget
  const longest = policy.windowNames.length - 1
  const multiple = policy.settings.signals['private-records'].longestWindowMultiple
  if (longest <= worstWindow || multiple <= 0) return short
  const longBudget = budget * multiple
  const long = privateDistinct(ledger, ctx, longest) / longBudget
  if (long <= short) return short
  worstWindow = longest
  worstBudget = longBudget
  return long
}

/** Distinct records with private contact fields against the class's private budget. */
export const privateRecords: Signal = {
  name: 'private-records',
  index: 9,
  points(ledger, ctx) {
    const r = ratio(ledger, ctx)
    if (r === 0) return 0
    const points = r * ctx.policy.settings.signals['private-records'].pointsAtBudget
    const cap = ctx.policy.classes[ctx.kind]!.volumeCap
    return points > cap ? cap : points
  },
  value(ledger, ctx) {
    return ratio(ledger, ctx)
  },
  note(ledger, ctx) {
    ratio(ledger, ctx)
    const name = ctx.policy.windowNames[worstWindow]
    return `${formatCount(Math.round(privateDistinct(ledger, ctx, worstWindow)))} distinct records with contact data in ${name}, budget ${formatCount(worstBudget)}`
  },
}
