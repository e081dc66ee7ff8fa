/**
 * Sketches for exposure accounting: HyperLogLog distinct counts (sparse while small, dense
 * registers past a threshold, mergeable by register max) and sliding windows built from
 * epoch-aligned time buckets. Design, error bounds and memory: docs/sketches.md.
 */
export { SKETCH_CORRUPT, SKETCH_MISMATCH } from './bytes.ts'
export {
  HyperLogLog,
  MAX_PRECISION,
  MIN_PRECISION,
  SKETCH_OPTIONS,
  defaultSparseLimit,
  mixDigest,
  mixedHi,
  mixedLo,
} from './hyperloglog.ts'
export { Windows, WindowSlots, WindowedCounter, WindowedDistinct } from './windowed.ts'
export type { WindowSpec, WindowsOptions } from './windowed.ts'
