import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { HarvestGuardError } from '../../../src/core/errors.ts'
import {
  WindowSlots,
  WindowedCounter,
  WindowedDistinct,
  Windows,
  mixDigest,
  mixedHi,
  mixedLo,
  type WindowSpec,
} from '../../../src/core/sketch/index.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0)

// Small windows so that short event sequences cross many bucket boundaries: 1 min by 10 s and
// 10 min by 2 min (time unit 10 s).
const SMALL: readonly WindowSpec[] = [
  { name: '1m', windowMs: MINUTE, buckets: 6 },
  { name: '10m', windowMs: 10 * MINUTE, buckets: 5 },
]

interface Sighting {
  readonly hash: number
  readonly timeMs: number
  readonly n: number
}

/** Event streams that mostly move forward, sometimes jump, and sometimes arrive late. */
const stream = fc
  .array(
    fc.record({
      hash: fc.integer({ min: 0, max: 400 }),
      stepMs: fc.oneof(
        fc.integer({ min: 0, max: 15_000 }),
        fc.integer({ min: -180_000, max: 0 }),
        fc.integer({ min: 0, max: 900_000 }),
      ),
      n: fc.integer({ min: 1, max: 5 }),
    }),
    { maxLength: 300, size: 'medium' },
  )
  .map((steps) => {
    let t = T0
    return steps.map(({ hash, stepMs, n }): Sighting => {
      t += stepMs
      return { hash, timeMs: t, n }
    })
  })

/**
 * The documented semantics, computed the slow way: as of a query time, window w covers the
 * `buckets` newest buckets up to the later of the query time and the newest event time, and a
 * digest counts when its latest sighting falls in one of them.
 */
function model(windows: Windows, events: readonly Sighting[], w: number, atMs: number) {
  const spec = windows.specs[w] as WindowSpec
  const bucketMs = windows.bucketMs[w] as number
  const newest = Math.max(atMs, ...events.map((e) => e.timeMs))
  const oldestBucket = Math.floor(newest / bucketMs) - spec.buckets + 1
  const last = new Map<number, number>()
  let total = 0
  for (const e of events) {
    if (Math.floor(e.timeMs / bucketMs) < oldestBucket) continue
    total += e.n
    last.set(e.hash, Math.max(last.get(e.hash) ?? 0, e.timeMs))
  }
  return { distinct: last.size, total }
}

function feed(windows: Windows, events: readonly Sighting[]) {
  const distinct = new WindowedDistinct(windows)
  const counter = new WindowedCounter(windows)
  for (const e of events) {
    distinct.add(e.hash, e.timeMs)
    counter.add(e.timeMs, e.n)
  }
  return { distinct, counter }
}

const queryOffsets = [0, 5_000, 50_000, 130_000, 9 * MINUTE, HOUR]

function assertMatchesModel(
  windows: Windows,
  events: readonly Sighting[],
  distinct: WindowedDistinct,
  counter: WindowedCounter,
): void {
  const last = events.at(-1)?.timeMs ?? T0
  // Queries move forward, as the engine's do (a query never rewinds a structure's clock).
  for (const offset of queryOffsets) {
    for (let w = 0; w < windows.specs.length; w++) {
      const expected = model(windows, events, w, last + offset)
      // Fewer than 512 distinct digests: even dense bucket sketches are still exact lists.
      assert.equal(distinct.estimate(w, last + offset), expected.distinct, `distinct w=${w}`)
      assert.equal(counter.total(w, last + offset), expected.total, `total w=${w}`)
    }
  }
}

function isCode(code: string) {
  return (e: unknown) => e instanceof HarvestGuardError && e.code === code
}

describe('Windows', () => {
  it('counts time in the gcd of the bucket widths', () => {
    const windows = new Windows([
      { name: '1h', windowMs: HOUR, buckets: 12 },
      { name: '24h', windowMs: 24 * HOUR, buckets: 24 },
      { name: '30d', windowMs: 720 * HOUR, buckets: 30 },
    ])
    assert.equal(windows.unitMs, 5 * MINUTE)
    assert.deepEqual(windows.bucketUnits, [1, 12, 288])
    assert.equal(windows.precision, 12)
  })

  it('rejects specs that cannot bucket', () => {
    const bad: WindowSpec[][] = [
      [],
      [{ name: '1h', windowMs: HOUR, buckets: 7 }],
      [{ name: '', windowMs: HOUR, buckets: 6 }],
      [
        { name: 'a', windowMs: HOUR, buckets: 6 },
        { name: 'a', windowMs: 2 * HOUR, buckets: 6 },
      ],
      [{ name: 'z', windowMs: 0, buckets: 1 }],
    ]
    for (const specs of bad) assert.throws(() => new Windows(specs), isCode('HG_SKETCH_OPTIONS'))
    assert.throws(() => new Windows(SMALL, { precision: 20 }), /precision/)
  })
})

describe('WindowedDistinct and WindowedCounter', () => {
  it('match the exact bucket semantics, including out-of-order events, sparse or dense', () => {
    fc.assert(
      fc.property(stream, fc.constantFrom(1, 4, 64), (events, sparseLimit) => {
        const windows = new Windows(SMALL, { sparseLimit, counterPairs: sparseLimit })
        const { distinct, counter } = feed(windows, events)
        assertMatchesModel(windows, events, distinct, counter)
      }),
      { numRuns: 200 },
    )
  })

  // Estimates between adds (as the engine's checkpoints ask them) see every add before them,
  // whatever a dense ring's union caches.
  it('match the exact bucket semantics when estimated between adds', () => {
    fc.assert(
      fc.property(stream, fc.constantFrom(1, 4), (events, sparseLimit) => {
        const windows = new Windows(SMALL, { sparseLimit })
        const distinct = new WindowedDistinct(windows)
        events.forEach((e, i) => {
          distinct.add(e.hash, e.timeMs)
          if (e.n < 3) return
          const seen = events.slice(0, i + 1)
          const newest = Math.max(...seen.map((x) => x.timeMs))
          for (let w = 0; w < windows.specs.length; w++) {
            const expected = model(windows, seen, w, newest).distinct
            assert.equal(distinct.estimate(w, newest), expected, `distinct w=${w} at ${i}`)
          }
        })
      }),
      { numRuns: 200 },
    )
  })

  // The engine mixes each digest and places each time once per request for all its sketches.
  it('addPrepared (digest mixed and time slotted once) leaves what add leaves', () => {
    fc.assert(
      fc.property(stream, fc.constantFrom(1, 4, 64), (events, sparseLimit) => {
        const windows = new Windows(SMALL, { sparseLimit })
        const plain = new WindowedDistinct(windows)
        const prepared = new WindowedDistinct(windows)
        const slots = new WindowSlots(windows)
        // Slots built for other (equal but distinct) windows: add's path, same outcome.
        const foreign = new WindowSlots(new Windows(SMALL, { sparseLimit }))
        events.forEach((e, i) => {
          plain.add(e.hash, e.timeMs)
          mixDigest(e.hash)
          const at = (i % 7 === 6 ? foreign : slots).at(e.timeMs)
          prepared.addPrepared(e.hash, mixedLo(), mixedHi(), at)
          if (e.n === 5) assert.equal(prepared.estimate(0, e.timeMs), plain.estimate(0, e.timeMs))
        })
        assert.equal(prepared.isSparse, plain.isSparse)
        assert.deepEqual(prepared.toBytes(), plain.toBytes())
      }),
      { numRuns: 200 },
    )
  })

  // The ledger counts its requests with the slots the request's records were placed with.
  it('WindowedCounter.addAt (time slotted once) leaves what add leaves', () => {
    fc.assert(
      fc.property(stream, fc.constantFrom(1, 2, 4), (events, counterPairs) => {
        const windows = new Windows(SMALL, { counterPairs })
        const plain = new WindowedCounter(windows)
        const slotted = new WindowedCounter(windows)
        const slots = new WindowSlots(windows)
        const foreign = new WindowSlots(new Windows(SMALL, { counterPairs }))
        events.forEach((e, i) => {
          plain.add(e.timeMs)
          slotted.addAt((i % 7 === 6 ? foreign : slots).at(e.timeMs))
          if (e.n === 5) assert.equal(slotted.total(1, e.timeMs), plain.total(1, e.timeMs))
        })
        assert.equal(slotted.isSparse, plain.isSparse)
        assert.deepEqual(slotted.toBytes(), plain.toBytes())
      }),
      { numRuns: 200 },
    )
  })

  // A dense ring's running union must hold what a union rebuilt from its live buckets holds.
  it('estimate as a union rebuilt from the buckets does, past the exact range', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ hash: fc.nat(), stepMs: fc.integer({ min: 0, max: 20_000 }) }), {
          minLength: 1,
          maxLength: 2000,
        }),
        (steps) => {
          // Precision 6: bucket sketches and unions go dense after 8 distinct digests.
          const windows = new Windows(SMALL, { sparseLimit: 1, precision: 6 })
          const distinct = new WindowedDistinct(windows)
          let t = T0
          steps.forEach((step, i) => {
            t += step.stepMs
            distinct.add(step.hash, t)
            if (i % 97 !== 0 && i !== steps.length - 1) return
            const estimates = windows.specs.map((_, w) => distinct.estimate(w, t))
            // toBytes/fromBytes rebuilds every union from its live buckets.
            const rebuilt = WindowedDistinct.fromBytes(distinct.toBytes(), windows)
            for (let w = 0; w < windows.specs.length; w++) {
              assert.equal(estimates[w], rebuilt.estimate(w, t), `w=${w} at ${i}`)
            }
          })
        },
      ),
      { numRuns: 60 },
    )
  })

  it('forgets what left the window and remembers what did not', () => {
    const windows = new Windows([{ name: '1h', windowMs: HOUR, buckets: 12 }])
    const bucketMs = 5 * MINUTE
    for (const sparseLimit of [1, 64]) {
      const distinct = new WindowedDistinct(new Windows(windows.specs, { sparseLimit }))
      const start = T0 + 2 * MINUTE // inside the bucket starting at T0
      distinct.add(1, start)
      distinct.add(2, start + 30 * MINUTE)
      distinct.add(3, start + 50 * MINUTE)
      // One bucket short of an hour after T0's bucket, all three are still in.
      assert.equal(distinct.estimate(0, T0 + HOUR - 1), 3)
      // T0's bucket leaves once the 12th later bucket opens, at T0 + 1 h: at most one bucket
      // (5 min) earlier than an exact 1 h window would drop it.
      assert.equal(distinct.estimate(0, T0 + HOUR), 2)
      assert.equal(distinct.estimate(0, T0 + 30 * MINUTE + HOUR + bucketMs), 1)
      assert.equal(distinct.estimate(0, T0 + 10 * HOUR), 0)
    }
  })

  it('counts a late event in its own bucket and ignores one older than every window', () => {
    const windows = new Windows(SMALL, { sparseLimit: 1 })
    const distinct = new WindowedDistinct(windows)
    const counter = new WindowedCounter(windows)
    distinct.add(1, T0 + 5 * MINUTE)
    distinct.add(2, T0 + 5 * MINUTE)
    counter.add(T0 + 5 * MINUTE)
    distinct.add(3, T0 + 4 * MINUTE + 30_000) // late, inside both windows
    counter.add(T0 + 4 * MINUTE + 30_000)
    distinct.add(4, T0 + 3 * MINUTE) // late: outside 1m, inside 10m
    counter.add(T0 + 3 * MINUTE)
    distinct.add(5, T0 - 20 * MINUTE) // older than every window: ignored
    counter.add(T0 - 20 * MINUTE)
    assert.equal(distinct.estimate(0, T0 + 5 * MINUTE), 3)
    assert.equal(distinct.estimate(1, T0 + 5 * MINUTE), 4)
    assert.equal(counter.total(0, T0 + 5 * MINUTE), 2)
    assert.equal(counter.total(1, T0 + 5 * MINUTE), 3)
  })

  it('merge equals the union of the event streams, bucket by bucket', () => {
    fc.assert(
      fc.property(stream, stream, fc.constantFrom(1, 4, 64), (a, b, sparseLimit) => {
        const windows = new Windows(SMALL, { sparseLimit, counterPairs: sparseLimit })
        const left = feed(windows, a)
        const right = feed(windows, b)
        left.distinct.merge(right.distinct)
        left.counter.merge(right.counter)
        assertMatchesModel(windows, [...a, ...b], left.distinct, left.counter)
      }),
      { numRuns: 150 },
    )
  })

  it('refuses to merge across different windows', () => {
    const a = new Windows(SMALL)
    const b = new Windows(SMALL, { precision: 10 })
    assert.throws(
      () => new WindowedDistinct(a).merge(new WindowedDistinct(b)),
      isCode('HG_SKETCH_MISMATCH'),
    )
    assert.throws(
      () => new WindowedCounter(a).merge(new WindowedCounter(new Windows(SMALL.slice(1)))),
      isCode('HG_SKETCH_MISMATCH'),
    )
    // Equal shapes built separately (two guards of a fleet) do merge.
    new WindowedDistinct(a).merge(new WindowedDistinct(new Windows(SMALL)))
  })

  it('round-trip through bytes, sparse or dense', () => {
    fc.assert(
      fc.property(stream, stream, fc.constantFrom(1, 4, 64), (before, after, sparseLimit) => {
        const windows = new Windows(SMALL, { sparseLimit, counterPairs: sparseLimit })
        const { distinct, counter } = feed(windows, before)
        const d = WindowedDistinct.fromBytes(distinct.toBytes(), windows)
        const c = WindowedCounter.fromBytes(counter.toBytes(), windows)
        assert.equal(d.isSparse, distinct.isSparse)
        assert.equal(c.isSparse, counter.isSparse)
        const shifted = after.map((e) => ({
          ...e,
          timeMs: e.timeMs - T0 + (before.at(-1)?.timeMs ?? T0),
        }))
        for (const e of shifted) {
          d.add(e.hash, e.timeMs)
          c.add(e.timeMs, e.n)
        }
        assertMatchesModel(windows, [...before, ...shifted], d, c)
      }),
      { numRuns: 100 },
    )
  })

  it('refuses bytes written for other windows', () => {
    const windows = new Windows(SMALL)
    const d = new WindowedDistinct(windows)
    d.add(1, T0)
    const other = new Windows([{ name: '1m', windowMs: MINUTE, buckets: 3 }])
    assert.throws(
      () => WindowedDistinct.fromBytes(d.toBytes(), other),
      isCode('HG_SKETCH_MISMATCH'),
    )
    const c = new WindowedCounter(windows)
    c.add(T0)
    assert.throws(() => WindowedCounter.fromBytes(c.toBytes(), other), isCode('HG_SKETCH_MISMATCH'))
  })

  it('throw nothing but HarvestGuardErrors on arbitrary or damaged bytes', () => {
    const windows = new Windows(SMALL, { sparseLimit: 4, counterPairs: 2 })
    const check = (bytes: Uint8Array) => {
      for (const decode of [
        () => WindowedDistinct.fromBytes(bytes, windows),
        () => WindowedCounter.fromBytes(bytes, windows),
      ]) {
        try {
          decode()
        } catch (error) {
          assert.ok(error instanceof HarvestGuardError, `threw ${String(error)}`)
          assert.match(error.code, /^HG_SKETCH_(CORRUPT|MISMATCH)$/)
        }
      }
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), check), { numRuns: 2000 })
    fc.assert(
      fc.property(stream, fc.nat(), fc.integer({ min: 0, max: 255 }), (events, at, value) => {
        const { distinct, counter } = feed(windows, events)
        for (const bytes of [distinct.toBytes(), counter.toBytes()]) {
          const i = at % bytes.length
          check(bytes.slice(0, i))
          const damaged = bytes.slice()
          damaged[i] = value
          check(damaged)
        }
      }),
    )
  })

  it('stays within the HyperLogLog error bound for a heavy principal', () => {
    const windows = new Windows(
      [
        { name: '1h', windowMs: HOUR, buckets: 12 },
        { name: '24h', windowMs: 24 * HOUR, buckets: 24 },
      ],
      { precision: 12 },
    )
    const distinct = new WindowedDistinct(windows)
    // 20 records a second for 3 hours, IDs ascending (an enumerating crawler), a fifth of them
    // served twice.
    let t = T0
    let id = 0
    for (let i = 0; i < 3 * 3600 * 20; i++) {
      t += 50
      distinct.add(i % 5 === 4 ? id - 3 : ++id, t)
    }
    assert.equal(distinct.isSparse, false)
    // The 1 h window holds the last 11-12 five-minute buckets as of t.
    const bucketMs = 5 * MINUTE
    const firstLive = (Math.floor(t / bucketMs) - 11) * bucketMs
    const inHour = Math.round(((t - firstLive) / 50) * 0.8)
    const bound = 5 * (1.04 / Math.sqrt(4096))
    assert.ok(Math.abs(distinct.estimate(0, t) / inHour - 1) < bound + 0.002)
    assert.ok(Math.abs(distinct.estimate(1, t) / id - 1) < bound)
  })

  it('cost little while idle', () => {
    const windows = new Windows(SMALL)
    const distinct = new WindowedDistinct(windows)
    const counter = new WindowedCounter(windows)
    for (let i = 0; i < 5; i++) {
      distinct.add(1000 + i, T0 + i * 1000)
      counter.add(T0 + i * 1000)
    }
    // Object (80 bytes) + one list of 6 (digest, unit) slots; the counter keeps its one live
    // (unit, count) pair in fields.
    assert.equal(distinct.heapBytes, 80 + 48 + 6 * 16)
    assert.equal(counter.heapBytes, 80)
    counter.add(T0 + MINUTE)
    assert.equal(counter.heapBytes, 80 + 48 + 2 * 16)
    assert.equal(counter.total(0, T0 + MINUTE), 1)
    assert.equal(counter.total(1, T0 + MINUTE), 6)
  })
})
