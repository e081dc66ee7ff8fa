import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { HarvestGuardError } from '../../../src/core/errors.ts'
import { HyperLogLog } from '../../../src/core/sketch/index.ts'

const MAX_DIGEST = 2 ** 53 - 1
const digest = fc.integer({ min: 0, max: MAX_DIGEST })

/** Relative standard error of a dense HyperLogLog with 2^p registers. */
function sigma(p: number): number {
  return 1.04 / Math.sqrt(2 ** p)
}

function fed(p: number, values: Iterable<number>, sparseLimit?: number): HyperLogLog {
  const hll = new HyperLogLog(p, sparseLimit)
  for (const v of values) hll.add(v)
  return hll
}

function assertOnlyCorrupt(run: () => unknown): void {
  try {
    run()
  } catch (error) {
    assert.ok(error instanceof HarvestGuardError, `threw ${String(error)}`)
    assert.equal(error.code, 'HG_SKETCH_CORRUPT')
  }
}

describe('HyperLogLog', () => {
  it('counts exactly while sparse, whatever the digests', () => {
    fc.assert(
      fc.property(fc.array(digest, { maxLength: 2048, size: 'medium' }), (values) => {
        const hll = fed(14, values)
        assert.equal(hll.isSparse, true)
        assert.equal(hll.estimate(), new Set(values).size)
      }),
    )
  })

  it('says whether an add changed it', () => {
    const hll = new HyperLogLog(12)
    assert.equal(hll.add(42), true)
    assert.equal(hll.add(42), false)
    const dense = fed(
      6,
      Array.from({ length: 200 }, (_, i) => i),
    )
    assert.equal(dense.isSparse, false)
    const before = dense.toBytes()
    const changed = dense.add(7)
    assert.equal(changed, false, 'a digest already added never raises a register')
    assert.deepEqual(dense.toBytes(), before)
  })

  it('promotes to registers past the sparse limit and stays within the error bound', () => {
    // 5 standard errors: a bound that a correct sketch misses about once in two million runs.
    fc.assert(
      fc.property(
        fc.constantFrom(10, 12, 14),
        fc.integer({ min: 1, max: 150_000 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 1_000_003 }),
        (p, n, offset, stride) => {
          const hll = new HyperLogLog(p)
          for (let i = 0; i < n; i++) hll.add(offset + i * stride)
          const error = Math.abs(hll.estimate() / n - 1)
          if (hll.isSparse) assert.equal(hll.estimate(), n)
          else assert.ok(error <= 5 * sigma(p), `p=${p} n=${n}: relative error ${error}`)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('estimates a million distinct digests within 2% at precision 14', () => {
    const hll = new HyperLogLog(14)
    for (let i = 0; i < 1_000_000; i++) hll.add(i)
    const error = Math.abs(hll.estimate() / 1_000_000 - 1)
    assert.ok(error < 0.02, `relative error ${error}`)
    // Sequential IDs are the worst case for the finaliser; keyed digests are uniform anyway.
    const keyed = new HyperLogLog(14)
    let x = 0x1234567
    for (let i = 0; i < 1_000_000; i++) {
      x = (x * 48271) % 2147483647
      keyed.add(x * 2 ** 22 + (i & 0x3fffff))
    }
    assert.ok(Math.abs(keyed.estimate() / 1_000_000 - 1) < 0.02)
  })

  it('merges to exactly the sketch of the union, sparse or dense on either side', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 8 }),
        fc.array(digest, { maxLength: 400, size: 'medium' }),
        fc.array(digest, { maxLength: 400, size: 'medium' }),
        (p, a, b) => {
          const left = fed(p, a)
          const right = fed(p, b)
          const union = fed(p, [...a, ...b])
          left.merge(right)
          assert.equal(left.isSparse, union.isSparse)
          assert.equal(left.estimate(), union.estimate())
          assert.deepEqual(left.toBytes(), union.toBytes())
        },
      ),
    )
  })

  it('merges in any order to the same registers', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(digest, { maxLength: 100 }), { minLength: 1, maxLength: 5 }),
        (parts) => {
          const forward = new HyperLogLog(6)
          const backward = new HyperLogLog(6)
          for (const part of parts) forward.merge(fed(6, part))
          for (const part of parts.toReversed()) backward.merge(fed(6, part))
          assert.deepEqual(forward.toBytes(), backward.toBytes())
          assert.equal(forward.estimate(), backward.estimate())
        },
      ),
    )
  })

  it('refuses to merge sketches of different precision', () => {
    assert.throws(
      () => new HyperLogLog(12).merge(new HyperLogLog(14)),
      (e: unknown) => e instanceof HarvestGuardError && e.code === 'HG_SKETCH_MISMATCH',
    )
  })

  it('rejects precision and sparse limits out of range', () => {
    for (const p of [3, 19, 12.5, Number.NaN]) {
      assert.throws(
        () => new HyperLogLog(p),
        (e: unknown) => e instanceof HarvestGuardError && e.code === 'HG_SKETCH_OPTIONS',
      )
    }
    assert.throws(() => new HyperLogLog(12, 0), HarvestGuardError)
  })

  it('round-trips through bytes, sparse and dense', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 14 }),
        fc.array(digest, { maxLength: 600, size: 'medium' }),
        fc.array(digest, { maxLength: 50 }),
        (p, values, later) => {
          const hll = fed(p, values)
          const copy = HyperLogLog.fromBytes(hll.toBytes())
          assert.equal(copy.precision, hll.precision)
          assert.equal(copy.isSparse, hll.isSparse)
          assert.equal(copy.estimate(), hll.estimate())
          assert.deepEqual(copy.toBytes(), hll.toBytes())
          for (const v of later) assert.equal(copy.add(v), hll.add(v))
          assert.deepEqual(copy.toBytes(), hll.toBytes())
        },
      ),
    )
  })

  it('packs dense registers in 6 bits each', () => {
    const hll = fed(
      14,
      Array.from({ length: 5000 }, (_, i) => i),
    )
    assert.equal(hll.isSparse, false)
    assert.ok(hll.toBytes().length <= 16_384 * 0.75 + 8)
  })

  it('throws nothing but HG_SKETCH_CORRUPT on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        assertOnlyCorrupt(() => HyperLogLog.fromBytes(bytes))
      }),
      { numRuns: 2000 },
    )
    assertOnlyCorrupt(() => HyperLogLog.fromBytes('not bytes' as unknown as Uint8Array))
  })

  it('throws nothing but HG_SKETCH_CORRUPT on damaged encodings', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 8 }),
        fc.array(digest, { maxLength: 300, size: 'medium' }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (p, values, at, value, truncate) => {
          const bytes = fed(p, values).toBytes()
          const i = at % bytes.length
          const damaged = truncate ? bytes.slice(0, i) : bytes.slice()
          if (!truncate) damaged[i] = value
          assertOnlyCorrupt(() => HyperLogLog.fromBytes(damaged))
        },
      ),
    )
  })

  it('names the offset of a bad register', () => {
    const bytes = fed(
      4,
      Array.from({ length: 100 }, (_, i) => i),
    ).toBytes()
    bytes[bytes.length - 1] = 63 // last register = 63, above the 50 a 53-bit hash can reach
    assert.throws(() => HyperLogLog.fromBytes(bytes), /HyperLogLog at byte \d+: register 15/)
  })

  it('clones independently', () => {
    const hll = fed(8, [1, 2, 3])
    const copy = hll.clone()
    copy.add(4)
    assert.equal(hll.estimate(), 3)
    assert.equal(copy.estimate(), 4)
  })
})
