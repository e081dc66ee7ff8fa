/**
 * The signals, listed explicitly in SIGNAL_NAMES order (the index of each is its position here
 * and in SIGNAL_NAMES; a test keeps them in step).
 */
import type { Signal } from '../signal.ts'
import { distinctRecords } from './distinct-records.ts'
import { enumeration } from './enumeration.ts'
import { errorRatio } from './error-ratio.ts'
import { headerAnomalies } from './header-anomalies.ts'
import { noAssets } from './no-assets.ts'
import { noContext } from './no-context.ts'
import { noReferer } from './no-referer.ts'
import { periodicity } from './periodicity.ts'
import { privateRecords } from './private-records.ts'
import { roundTheClock } from './round-the-clock.ts'

export {
  distinctRecords,
  enumeration,
  errorRatio,
  headerAnomalies,
  noAssets,
  noContext,
  noReferer,
  periodicity,
  privateRecords,
  roundTheClock,
}

/** Every signal, in SIGNAL_NAMES order. */
export const SIGNALS: readonly Signal[] = Object.freeze([
  distinctRecords,
  enumeration,
  periodicity,
  roundTheClock,
  noAssets,
  noReferer,
  headerAnomalies,
  errorRatio,
  noContext,
  privateRecords,
])
