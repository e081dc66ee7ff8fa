/**
 * periodicity: regularity of the gaps between a principal's requests (assets excluded: they
 * arrive in bursts with their page). The value is the coefficient of variation of the gaps
 * (standard deviation / mean), exponentially weighted over the last ~64 gaps; gaps longer than
 * `maxGap` are breaks between sessions and are left out, gaps over 4x the running mean count as
 * 4x the mean (a fast loop's occasional stall), and the variance that millisecond timestamps
 * add (1/6 ms²) is taken off.
 *
 * Why it points to harvesting: people read, think and wander; their gaps are heavy-tailed with
 * a coefficient of variation of 1 or more. A crawler sleeps a fixed or uniformly random time
 * (the Taobao crawler: one request every few seconds, around the clock): uniform 2-10 s gives
 * 0.38, a fixed sleep gives nearly 0.
 *
 * Weights: a partner key 2 (a service desk works in bursts, a key with a machine rhythm is a
 * crawler: full points throttle it), people 0.5 (someone working through a task list keeps an
 * even pace for a while), shared identities 0.5. Gaps over `maxGap` (5 minutes) are breaks, so
 * a crawler's back-off does not wash its rhythm out.
 *
 * How an adversary could dodge it: draw sleeps from a heavy-tailed distribution. That costs it
 * throughput (long pauses) and leaves the volume and round-the-clock signals in place.
 */
import type { Ledger } from '../ledger.ts'
import { formatCount, type Signal, type SignalContext } from '../signal.ts'

// Variance that millisecond timestamps add to gaps (two independent rounding errors, each
// uniform over 1 ms: 2 x 1/12). Negligible for people's gaps of seconds; for a loop that
// fires every millisecond it is most of the measured variance, and not the client's.
const STAMP_VARIANCE_MS2 = 1 / 6

function cv(ledger: Ledger): number {
  const mean = ledger.gapMeanMs
  if (mean <= 0) return 0
  const std = ledger.gapStdMs
  const variance = std * std - STAMP_VARIANCE_MS2
  return variance > 0 ? Math.sqrt(variance) / mean : 0
}

/** Low coefficient of variation of inter-arrival gaps. */
export const periodicity: Signal = {
  name: 'periodicity',
  index: 2,
  points(ledger, ctx: SignalContext) {
    const p = ctx.policy.settings.signals.periodicity
    if (ledger.gaps < p.minGaps || ledger.gapMeanMs <= 0) return 0
    const c = cv(ledger)
    if (c >= p.maxCv) return 0
    // Full points at three quarters of the threshold or below, scaling up from the threshold:
    // a uniform 2-10 s sleep (0.38) scores in full against the default 0.6, while people's
    // exponential-or-heavier gaps (1 or more) stay well above it.
    const s = (p.maxCv - c) / (p.maxCv / 4)
    return p.points * (s > 1 ? 1 : s)
  },
  value(ledger) {
    return cv(ledger)
  },
  note(ledger, ctx) {
    const p = ctx.policy.settings.signals.periodicity
    const meanMs = ledger.gapMeanMs
    const every =
      meanMs < 1000
        ? `${meanMs < 10 ? meanMs.toFixed(1) : Math.round(meanMs)} ms`
        : meanMs < 10_000
          ? `${(meanMs / 1000).toFixed(1)}s`
          : `${formatCount(Math.round(meanMs / 1000))}s`
    return `one request every ${every}, gap variation ${cv(ledger).toFixed(2)} over ${formatCount(ledger.gaps)} gaps (machine-like below ${p.maxCv})`
  },
}
