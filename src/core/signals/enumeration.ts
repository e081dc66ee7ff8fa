/**
 * enumeration: walking an ID space. Two shapes: runs of requests each naming an ID a small step
 * from the previous one (`/users/1001`, `/users/1002`, …), and dense coverage, many different
 * IDs packed into few 256-wide blocks (a shuffled sweep of a range).
 *
 * Why it points to harvesting: people reach profiles through links, search and their orders;
 * they do not visit user 1001, then 1002, then 1003, nor hundreds of IDs inside one block.
 * A crawler that knows IDs are sequential enumerates because it is the cheapest complete crawl.
 *
 * Privacy: the ID itself is never kept: only the low 16 bits of the last ordinal (to measure the
 * next step) and a 256-bit map of which coarse blocks of the low 16 bits were visited.
 *
 * Dense coverage is not judged on an address or subnet with a crowd behind it (8 or more device
 * fingerprints): many people's visits interleaved pack IDs the same way. Runs still count.
 *
 * How an adversary could dodge it: draw IDs at random from a large space (the coverage stays
 * sparse), or take IDs from listings instead of counting. Then it no longer enumerates, and
 * distinct-records and the behaviour signals have to do the work.
 */
import type { Ledger } from '../ledger.ts'
import { formatCount, type Signal, type SignalContext } from '../signal.ts'

// Steps between different ordinals before density is judged. Steps are changes of ID, not
// distinct IDs: a buyer going back and forth between the few items of its orders and their
// commenters makes dozens of steps inside 3 blocks over a few visits (the lab's B3: 66 steps
// in 3 blocks, 168 in 10), so density waits for a sample no person's back-and-forth reaches.
const MIN_STEPS_FOR_DENSITY = 256

// Device fingerprints behind an address at which it is a crowd: people interleaved on one NAT
// revisit popular items and profiles, which packs IDs into few blocks as a sweep does.
const CROWD = 8

function density(ledger: Ledger): number {
  const bins = ledger.ordinalBins
  if (bins === 0 || ledger.ordinalSteps < MIN_STEPS_FOR_DENSITY || ledger.crowd >= CROWD) return 0
  // Bins start after the 8th step; count only the steps they saw.
  return (ledger.ordinalSteps - 8) / bins
}

function strength(ledger: Ledger, ctx: SignalContext): number {
  const p = ctx.policy.settings.signals.enumeration
  const run = ledger.maxRun / p.minRun
  const dense = density(ledger) / p.minDensity
  return run > dense ? run : dense
}

/** Sequential runs and dense coverage of an ID range. */
export const enumeration: Signal = {
  name: 'enumeration',
  index: 1,
  points(ledger, ctx) {
    if (ledger.ordinalSteps < 2) return 0
    const s = strength(ledger, ctx)
    if (s < 1) return 0
    const points = ctx.policy.settings.signals.enumeration.points
    // Twice the threshold counts for half again as much: a 500-long run is not a coincidence.
    return s >= 2 ? points * 1.5 : points
  },
  value(ledger, ctx) {
    return strength(ledger, ctx)
  },
  note(ledger, ctx) {
    const p = ctx.policy.settings.signals.enumeration
    const d = density(ledger)
    if (ledger.maxRun / p.minRun >= d / p.minDensity) {
      return `run of ${formatCount(ledger.maxRun)} consecutive IDs (threshold ${p.minRun})`
    }
    return `${formatCount(ledger.ordinalSteps)} IDs packed into ${ledger.ordinalBins} blocks of 256 (${formatCount(Math.round(d))} per block, threshold ${p.minDensity})`
  },
}
