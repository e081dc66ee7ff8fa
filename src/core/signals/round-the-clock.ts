/**
 * round-the-clock: activity without diurnal rest. The ledger keeps a 24-bit map of the hours
 * with activity (the last 24) and the hour since which the principal has not had a quiet
 * stretch of more than `24 - minActiveHours` hours. The value is that stretch, in days.
 *
 * Why it points to harvesting: people sleep; a person's identity (account, partner key used by a
 * service desk) goes quiet for many hours a day. The Taobao crawler ran 24/7 for eight months.
 *
 * How an adversary could dodge it: pause for a few hours a day (it loses a fifth of its
 * throughput) or hand over to another identity at night (actor linking and volume catch up).
 * Shared identities (NAT addresses, carriers, subnets, popular browser builds) are legitimately
 * busy all day, hundreds of people awake at different hours: their classes weigh it 0.
 */
import type { Signal, SignalContext } from '../signal.ts'

/** No diurnal rest over days. */
export const roundTheClock: Signal = {
  name: 'round-the-clock',
  index: 3,
  points(ledger, ctx: SignalContext) {
    const p = ctx.policy.settings.signals['round-the-clock']
    if (ledger.restlessHours < p.minDays * 24 || ledger.activeHours < p.minActiveHours) return 0
    return p.points
  },
  value(ledger) {
    return Math.round((ledger.restlessHours / 24) * 10) / 10
  },
  note(ledger, ctx) {
    const p = ctx.policy.settings['signals']['round-the-clock']
    const days = (ledger.restlessHours / 24).toFixed(1)
    return `active ${ledger.activeHours} of the last 24 hours, no rest longer than ${24 - p.minActiveHours}h for ${days} days`
  },
}
