// Sketch hot paths against an exact Set<number> baseline measured in the same run, and the
// memory of idle and heavy structures (reported heapBytes next to process.memoryUsage()).
// Run alone: npx node bench/sketch.bench.ts
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  HyperLogLog,
  WindowedCounter,
  WindowedDistinct,
  Windows,
} from '../src/core/sketch/index.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const HOUR = 3_600_000
const T0 = Date.UTC(2026, 10, 1)
const WINDOWS = new Windows([
  { name: '1h', windowMs: HOUR, buckets: 12 },
  { name: '24h', windowMs: 24 * HOUR, buckets: 24 },
  { name: '30d', windowMs: 720 * HOUR, buckets: 30 },
])
const REPEATS = 5

// Pre-generated keyed-digest stand-ins (uniform 53-bit), so the timed loops do no RNG work.
const DIGESTS = new Float64Array(1 << 21)
for (let i = 0; i < DIGESTS.length; i++) DIGESTS[i] = Math.floor(Math.random() * 2 ** 53)
const MASK = DIGESTS.length - 1

let sink = 0

/** Median ops/s of `REPEATS` runs of `run`, which performs `ops` operations. */
function rate(ops: number, run: () => void): number {
  const rates: number[] = []
  for (let r = 0; r < REPEATS; r++) {
    const started = performance.now()
    run()
    rates.push(ops / ((performance.now() - started) / 1000))
  }
  return rates.toSorted((a, b) => a - b)[REPEATS >> 1] as number
}

interface Row {
  readonly workload: string
  readonly ours: number
  readonly baseline: number
}
const rows: Row[] = []

function compare(workload: string, ops: number, ours: () => void, baseline: () => void): void {
  ours() // warm-up, both sides
  baseline()
  rows.push({ workload, ours: rate(ops, ours), baseline: rate(ops, baseline) })
}

// 1. Idle-ish principals: 20,000 sketches of 50 distinct digests each (HyperLogLog stays sparse).
{
  const sketches = 20_000
  const each = 50
  compare(
    `HyperLogLog p=14 sparse: ${sketches} sketches x ${each} adds`,
    sketches * each,
    () => {
      for (let s = 0; s < sketches; s++) {
        const hll = new HyperLogLog(14)
        for (let i = 0; i < each; i++) hll.add(DIGESTS[(s * each + i) & MASK] as number)
        sink += hll.estimate()
      }
    },
    () => {
      for (let s = 0; s < sketches; s++) {
        const set = new Set<number>()
        for (let i = 0; i < each; i++) set.add(DIGESTS[(s * each + i) & MASK] as number)
        sink += set.size
      }
    },
  )
}

// 2. One heavy principal: 1,000,000 adds into one dense sketch.
{
  const n = 1_000_000
  compare(
    `HyperLogLog p=14 dense: 1 sketch x ${n} adds`,
    n,
    () => {
      const hll = new HyperLogLog(14)
      for (let i = 0; i < n; i++) hll.add(DIGESTS[i & MASK] as number)
      sink += hll.estimate()
    },
    () => {
      const set = new Set<number>()
      for (let i = 0; i < n; i++) set.add(DIGESTS[i & MASK] as number)
      sink += set.size
    },
  )
}

// 3. Many idle principals, engine pattern per event: add, then read all three windows.
{
  const principals = 50_000
  const each = 5
  compare(
    `WindowedDistinct sparse: ${principals} x ${each} (add + 3 estimates)`,
    principals * each,
    () => {
      for (let p = 0; p < principals; p++) {
        const d = new WindowedDistinct(WINDOWS)
        for (let i = 0; i < each; i++) {
          const t = T0 + p * 7 + i * 40_000
          d.add(DIGESTS[(p * each + i) & MASK] as number, t)
          sink += d.estimate(0, t) + d.estimate(1, t) + d.estimate(2, t)
        }
      }
    },
    () => {
      for (let p = 0; p < principals; p++) {
        const set = new Set<number>()
        for (let i = 0; i < each; i++) {
          set.add(DIGESTS[(p * each + i) & MASK] as number)
          sink += set.size
        }
      }
    },
  )
}

// 4. A harvester: 20 new records a second for 14 hours into one WindowedDistinct.
{
  const n = 1_000_000
  compare(
    `WindowedDistinct dense: 1 x ${n} (add + 3 estimates)`,
    n,
    () => {
      const d = new WindowedDistinct(WINDOWS)
      for (let i = 0; i < n; i++) {
        const t = T0 + i * 50
        d.add(DIGESTS[i & MASK] as number, t)
        sink += d.estimate(0, t) + d.estimate(1, t) + d.estimate(2, t)
      }
    },
    () => {
      const set = new Set<number>()
      for (let i = 0; i < n; i++) {
        set.add(DIGESTS[i & MASK] as number)
        sink += set.size
      }
    },
  )
}

// 5. Request counts, same two shapes.
{
  const n = 1_000_000
  compare(
    `WindowedCounter dense: 1 x ${n} (add + 3 totals)`,
    n,
    () => {
      const c = new WindowedCounter(WINDOWS)
      for (let i = 0; i < n; i++) {
        const t = T0 + i * 50
        c.add(t)
        sink += c.total(0, t) + c.total(1, t) + c.total(2, t)
      }
    },
    () => {
      const set = new Set<number>()
      for (let i = 0; i < n; i++) {
        set.add(DIGESTS[i & MASK] as number)
        sink += set.size
      }
    },
  )
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US')
console.log('| workload | ours ops/s | Set<number> ops/s | ours / Set |')
console.log('| --- | ---: | ---: | ---: |')
for (const r of rows) {
  console.log(
    `| ${r.workload} | ${fmt(r.ours)} | ${fmt(r.baseline)} | ${(r.ours / r.baseline).toFixed(2)} |`,
  )
}

// Memory: build `count` structures, keep them alive, compare heap growth with heapBytes.
function usedBytes(): number {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

function memory<T>(
  label: string,
  count: number,
  make: (i: number) => T,
  reported?: (x: T) => number,
) {
  // Allocated before the first reading, so that only the structures are measured.
  const keep = Array.from<T | null>({ length: count }).fill(null)
  const before = usedBytes()
  for (let i = 0; i < count; i++) keep[i] = make(i)
  const after = usedBytes()
  const measured = (after - before) / count
  const heap =
    reported === undefined ? Number.NaN : keep.reduce((s, x) => s + reported(x as T), 0) / count
  sink += keep.length
  return { label, measured, heap }
}

const handful = (i: number, k: number) => T0 + (i % 1000) * 1000 + k * 45_000
const mem = [
  memory(
    'HyperLogLog p=14, empty',
    100_000,
    () => new HyperLogLog(14),
    (h) => h.heapBytes,
  ),
  memory(
    'HyperLogLog p=14, 5 digests',
    100_000,
    (i) => {
      const h = new HyperLogLog(14)
      for (let k = 0; k < 5; k++) h.add(DIGESTS[(i * 5 + k) & MASK] as number)
      return h
    },
    (h) => h.heapBytes,
  ),
  memory(
    'WindowedDistinct (3 windows), 5 digests over 3 min',
    100_000,
    (i) => {
      const d = new WindowedDistinct(WINDOWS)
      for (let k = 0; k < 5; k++) d.add(DIGESTS[(i * 5 + k) & MASK] as number, handful(i, k))
      return d
    },
    (d) => d.heapBytes,
  ),
  memory(
    'WindowedDistinct (3 windows), 60 digests over 3 min',
    20_000,
    (i) => {
      const d = new WindowedDistinct(WINDOWS)
      for (let k = 0; k < 60; k++) d.add(DIGESTS[(i * 60 + k) & MASK] as number, handful(i, k % 5))
      return d
    },
    (d) => d.heapBytes,
  ),
  memory(
    'WindowedCounter (3 windows), 5 requests over 3 min',
    100_000,
    (i) => {
      const c = new WindowedCounter(WINDOWS)
      for (let k = 0; k < 5; k++) c.add(handful(i, k))
      return c
    },
    (c) => c.heapBytes,
  ),
  memory(
    'WindowedCounter (3 windows), dense (1 request a minute for 30 days)',
    2_000,
    (i) => {
      const c = new WindowedCounter(WINDOWS)
      for (let k = 0; k < 43_200; k += 60) c.add(T0 + i + k * 60_000, 60)
      return c
    },
    (c) => c.heapBytes,
  ),
  memory('Set<number>, 5 digests (baseline)', 100_000, (i) => {
    const s = new Set<number>()
    for (let k = 0; k < 5; k++) s.add(DIGESTS[(i * 5 + k) & MASK] as number)
    return s
  }),
  memory(
    'WindowedDistinct heavy: 1 new record every 2 s for 30 days',
    2,
    (i) => {
      const d = new WindowedDistinct(WINDOWS)
      for (let k = 0; k < 1_296_000; k++)
        d.add(DIGESTS[(i * 7919 + k) & MASK] as number, T0 + k * 2000)
      return d
    },
    (d) => d.heapBytes,
  ),
]
console.log('')
console.log('| structure | heapBytes (reported) | measured bytes (heap + array buffers) |')
console.log('| --- | ---: | ---: |')
for (const m of mem) {
  console.log(`| ${m.label} | ${Number.isNaN(m.heap) ? '-' : fmt(m.heap)} | ${fmt(m.measured)} |`)
}
if (sink === -1) console.log('unreachable')
