import { HarvestGuardError } from '../errors.ts'
import type { Digest } from '../exposure.ts'
import { ByteReader, ByteWriter, SKETCH_MISMATCH, grownCapacity, doubles } from './bytes.ts'

/** Code of a sketch constructed with options out of range. */
export const SKETCH_OPTIONS = 'HG_SKETCH_OPTIONS'

/** Smallest and largest supported precision (log2 of the register count). */
export const MIN_PRECISION = 4
export const MAX_PRECISION = 18

const FORMAT_VERSION = 1
const KIND_SPARSE = 0
const KIND_DENSE = 1
const TWO32 = 4294967296
const HI_BITS = 21
const HI_MASK = 0x1fffff
// 1 / (2 ln 2): the asymptotic bias constant of Ertl's estimator.
const ALPHA_INF = 0.7213475204444817

// Output of mixDigest. Module-level slots instead of a returned pair: the hot path allocates
// nothing, and V8 keeps these as plain context slots.
let mixLo = 0
let mixHi = 0

function fmix32(x: number): number {
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

/**
 * Mixes a 53-bit digest into {@link mixedLo} (32 bits) and {@link mixedHi} (21 bits) with murmur3's
 * finaliser (a bijection on 32 bits) and three Feistel rounds. Digests are already uniform when they come from the
 * Keyer, but tests and replays feed sequential integers; a Feistel network is a bijection on the
 * 53 bits, so two distinct digests never collide here and a sparse sketch counts exactly.
 * Splits with `>>> 0` and a division, because bitwise operators see only the low 32 bits.
 */
export function mixDigest(hash: Digest): void {
  // fmix32 is itself a bijection on 32 bits: whitening the low half first spreads sequential
  // inputs before the cross rounds (without it, IDs differing only in low bits shared the top
  // bits that pick the register, and estimates drifted by -1.3 % at 100k sequential IDs).
  let lo = fmix32((hash >>> 0) ^ 0x9e3779b9)
  let hi = (Math.floor(hash / TWO32) ^ fmix32(lo)) & HI_MASK
  lo = (lo ^ fmix32(hi ^ 0x7f4a7c15)) >>> 0
  hi = (hi ^ fmix32(lo ^ 0x2545f491)) & HI_MASK
  mixLo = lo
  mixHi = hi
}

/** Low 32 bits of the last {@link mixDigest}. */
export function mixedLo(): number {
  return mixLo
}

/** High 21 bits of the last {@link mixDigest}. */
export function mixedHi(): number {
  return mixHi
}

/**
 * Rank of a mixed hash at precision p: 1 + the number of leading zeros of the 53 - p bits left
 * after the register index (the top p bits of lo), capped at 54 - p when they are all zero.
 */
function rankOf(lo: number, hi: number, p: number): number {
  const rest = lo << p
  if (rest !== 0) return Math.clz32(rest) + 1
  if (hi !== 0) return 32 - p + Math.clz32(hi << (32 - HI_BITS)) + 1
  return 54 - p
}

function sigma(x: number): number {
  if (x === 1) return Infinity
  let y = 1
  let z = x
  for (;;) {
    x *= x
    const prev = z
    z += x * y
    y += y
    if (z === prev) return z
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0
  let y = 1
  let z = 1 - x
  for (;;) {
    x = Math.sqrt(x)
    const prev = z
    y *= 0.5
    z -= (1 - x) * (1 - x) * y
    if (z === prev) return z / 3
  }
}

/**
 * Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog sketches",
 * 2017) from the register histogram: unbiased from 0 to far beyond 2^40 without HLL++'s empirical
 * bias tables; its sigma term is linear counting for small ranges, its tau term handles
 * saturated registers. A pure function of the histogram, so equal registers give equal
 * estimates whatever the order of insertion or merging.
 */
function estimateHistogram(hist: Int32Array, m: number, q: number): number {
  let z = m * tau(1 - (hist[q + 1] as number) / m)
  for (let k = q; k >= 1; k--) z = 0.5 * (z + (hist[k] as number))
  z += m * sigma((hist[0] as number) / m)
  return (ALPHA_INF * m * m) / z
}

/** Register histogram of dense registers: hist[k] = registers holding k. */
function histogramOf(regs: Uint8Array, precision: number): Int32Array {
  const hist = new Int32Array(56 - precision)
  for (let i = 0; i < regs.length; i++) {
    const r = regs[i] as number
    hist[r] = (hist[r] as number) + 1
  }
  return hist
}

function checkPrecision(precision: number): void {
  if (!Number.isInteger(precision) || precision < MIN_PRECISION || precision > MAX_PRECISION) {
    throw new HarvestGuardError(
      SKETCH_OPTIONS,
      `HyperLogLog precision: expected an integer from ${MIN_PRECISION} to ${MAX_PRECISION}, got ${String(precision)}`,
    )
  }
}

/** The sparse limit used when none is given: where the sparse list costs as much as registers. */
export function defaultSparseLimit(precision: number): number {
  return Math.max(2, (1 << precision) >>> 3)
}

function checkSparseLimit(limit: number, precision: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1 << precision) {
    throw new HarvestGuardError(
      SKETCH_OPTIONS,
      `HyperLogLog sparseLimit: expected an integer from 1 to ${1 << precision}, got ${String(limit)}`,
    )
  }
}

// V8 object sizes as Node ships it (64-bit, no pointer compression), calibrated with
// process.memoryUsage() in bench/sketch.bench.ts: a class instance is 32 bytes plus 8 a field;
// a number[] is 48 bytes plus 8 a double; a typed array with its ArrayBuffer about 200 bytes
// plus its data.
const HLL_OBJECT_BYTES = 32 + 7 * 8
const ARRAY_BYTES = 48
const TYPED_ARRAY_BYTES = 200

/**
 * A HyperLogLog distinct-count sketch over 53-bit digests. Sparse while small: a sorted list of
 * mixed hashes (8 bytes each, exact counts, no typed array, nothing at all until the first add);
 * past `sparseLimit` entries it promotes to `2^precision` one-byte registers. Relative standard
 * error once dense: about 1.04 / sqrt(2^precision) (0.81 % at the default 14).
 *
 * @example
 * const hll = new HyperLogLog(14)
 * for (const d of digests) hll.add(d)
 * hll.estimate() // distinct digests, exact while sparse
 */
export class HyperLogLog {
  /** log2 of the register count, 4..18. @default 14 */
  readonly precision: number
  #limit: number
  // Sorted mixed hashes; the array's length is its capacity, #n the entries in use. Capacity is
  // managed by hand (see grownCapacity) because V8's push growth adds 16 spare slots, which would
  // triple the cost of an idle sketch.
  #sparse: number[] | undefined = undefined
  #n = 0
  #regs: Uint8Array | undefined = undefined
  // Register histogram (hist[k] = registers holding k), maintained on every register change so
  // that estimate() is O(1): a fixed ~55-term sum instead of a pass over 2^precision registers.
  // Built by the first estimate(), not at promotion: the bucket sketches of a WindowedDistinct
  // are only ever merged, never estimated, and keeping their histograms cost two extra memory
  // touches per raised register on the engine's hot path (and 200+ bytes each).
  #hist: Int32Array | undefined = undefined
  #cached = -1

  /**
   * @param precision log2 of the register count, 4..18. @default 14
   * @param sparseLimit distinct hashes kept exactly before promoting to registers.
   *   @default 2^precision / 8 (where the sparse list costs as much as the registers)
   */
  constructor(precision = 14, sparseLimit?: number) {
    checkPrecision(precision)
    const limit = sparseLimit ?? defaultSparseLimit(precision)
    checkSparseLimit(limit, precision)
    this.precision = precision
    this.#limit = limit
  }

  /** Whether the sketch still holds an exact sorted list rather than registers. */
  get isSparse(): boolean {
    return this.#regs === undefined
  }

  /** Distinct hashes kept exactly before promoting to registers. */
  get sparseLimit(): number {
    return this.#limit
  }

  /** Approximate bytes this sketch retains on the heap (object, list or registers). */
  get heapBytes(): number {
    let bytes = HLL_OBJECT_BYTES
    if (this.#sparse !== undefined) bytes += ARRAY_BYTES + 8 * this.#sparse.length
    if (this.#regs !== undefined) bytes += 2 * TYPED_ARRAY_BYTES + this.#regs.length
    if (this.#hist !== undefined) bytes += this.#hist.byteLength
    return bytes
  }

  /** Adds a digest; true when the sketch changed (a new entry or a raised register). */
  add(hash: Digest): boolean {
    mixDigest(hash)
    return this.addMixed(mixLo, mixHi)
  }

  /**
   * Adds an already mixed hash (see {@link mixDigest}); lets windowed sketches mix once and feed
   * several HyperLogLogs.
   */
  addMixed(lo: number, hi: number): boolean {
    const regs = this.#regs
    if (regs !== undefined) return this.#raise(regs, lo, hi)
    const key = hi * TWO32 + lo
    let list = this.#sparse
    const n = this.#n
    let a = 0
    let b = n
    if (list !== undefined) {
      while (a < b) {
        const mid = (a + b) >>> 1
        const v = list[mid] as number
        if (v < key) a = mid + 1
        else if (v > key) b = mid
        else return false
      }
    }
    if (list === undefined) {
      list = doubles(1)
      list[0] = key
      this.#sparse = list
    } else {
      if (n === list.length) list = this.#grow(list, n)
      for (let i = n; i > a; i--) list[i] = list[i - 1] as number
      list[a] = key
    }
    this.#n = n + 1
    if (n + 1 > this.#limit) this.#promote()
    return true
  }

  #grow(list: number[], n: number): number[] {
    const next = doubles(grownCapacity(n))
    for (let i = 0; i < n; i++) next[i] = list[i] as number
    this.#sparse = next
    return next
  }

  #raise(regs: Uint8Array, lo: number, hi: number): boolean {
    const p = this.precision
    const idx = lo >>> (32 - p)
    const rank = rankOf(lo, hi, p)
    const old = regs[idx] as number
    if (rank <= old) return false
    regs[idx] = rank
    const hist = this.#hist
    if (hist !== undefined) {
      hist[old] = (hist[old] as number) - 1
      hist[rank] = (hist[rank] as number) + 1
      this.#cached = -1
    }
    return true
  }

  #promote(): void {
    const m = 1 << this.precision
    const regs = new Uint8Array(m)
    this.#regs = regs
    this.#hist = undefined
    const list = this.#sparse
    if (list !== undefined) {
      for (let i = 0; i < this.#n; i++) {
        const key = list[i] as number
        this.#raise(regs, key >>> 0, Math.floor(key / TWO32))
      }
    }
    this.#sparse = undefined
    this.#n = 0
    this.#cached = -1
  }

  /** Estimated distinct digests added (exact while sparse). O(1). */
  estimate(): number {
    const regs = this.#regs
    if (regs === undefined) return this.#n
    if (this.#hist === undefined) {
      this.#hist = histogramOf(regs, this.precision)
      this.#cached = -1
    }
    if (this.#cached < 0) {
      const p = this.precision
      this.#cached = estimateHistogram(this.#hist, 1 << p, 53 - p)
    }
    return this.#cached
  }

  /**
   * Merges another sketch of the same precision into this one (union): register max, or the
   * union of the exact lists while both are sparse and it fits.
   * @throws HarvestGuardError HG_SKETCH_MISMATCH when the precisions differ.
   */
  merge(other: HyperLogLog): void {
    if (other.precision !== this.precision) {
      throw new HarvestGuardError(
        SKETCH_MISMATCH,
        `HyperLogLog merge: precision ${other.precision} into precision ${this.precision}`,
      )
    }
    if (other === this) return
    const otherRegs = other.#regs
    if (otherRegs === undefined) {
      const list = other.#sparse
      if (list === undefined) return
      if (this.#regs === undefined) this.#unionSparse(list, other.#n)
      else {
        const regs = this.#regs
        for (let i = 0; i < other.#n; i++) {
          const key = list[i] as number
          this.#raise(regs, key >>> 0, Math.floor(key / TWO32))
        }
      }
      return
    }
    if (this.#regs === undefined) this.#promote()
    const regs = this.#regs as Uint8Array
    const hist = this.#hist
    for (let i = 0; i < regs.length; i++) {
      const r = otherRegs[i] as number
      const old = regs[i] as number
      if (r > old) {
        regs[i] = r
        if (hist !== undefined) {
          hist[old] = (hist[old] as number) - 1
          hist[r] = (hist[r] as number) + 1
        }
      }
    }
    this.#cached = -1
  }

  #unionSparse(other: number[], otherN: number): void {
    const mine = this.#sparse
    const n = this.#n
    const out = doubles(n + otherN)
    let i = 0
    let j = 0
    let k = 0
    while (i < n && j < otherN) {
      const a = (mine as number[])[i] as number
      const b = other[j] as number
      if (a < b) {
        out[k++] = a
        i++
      } else if (b < a) {
        out[k++] = b
        j++
      } else {
        out[k++] = a
        i++
        j++
      }
    }
    while (i < n) out[k++] = (mine as number[])[i++] as number
    while (j < otherN) out[k++] = other[j++] as number
    this.#sparse = out
    this.#n = k
    if (k > this.#limit) this.#promote()
  }

  /** Resets to empty (sparse), keeping precision and sparse limit. */
  clear(): void {
    this.#sparse = undefined
    this.#n = 0
    this.#regs = undefined
    this.#hist = undefined
    this.#cached = -1
  }

  /** A deep copy. */
  clone(): HyperLogLog {
    const copy = new HyperLogLog(this.precision, this.#limit)
    copy.merge(this)
    if (this.#regs !== undefined && copy.#regs === undefined) copy.#promote()
    return copy
  }

  /**
   * Compact bytes: version, precision, kind, sparse limit, then either the sorted list as
   * varint deltas (about 2-3 bytes an entry when dense-ish, up to 8 when tiny) or the registers
   * packed 6 bits each (0.75 bytes a register: 12 KiB at precision 14).
   */
  toBytes(): Uint8Array {
    const w = new ByteWriter(this.#regs === undefined ? 8 + 8 * this.#n : 8 + this.#regs.length)
    this.writeTo(w)
    return w.finish()
  }

  /** Appends {@link toBytes}'s encoding to a writer (used by windowed sketches). */
  writeTo(w: ByteWriter): void {
    w.byte(FORMAT_VERSION)
    w.byte(this.precision)
    const regs = this.#regs
    w.byte(regs === undefined ? KIND_SPARSE : KIND_DENSE)
    w.varint(this.#limit)
    if (regs === undefined) {
      const list = this.#sparse
      w.varint(this.#n)
      let prev = 0
      for (let i = 0; i < this.#n; i++) {
        const key = (list as number[])[i] as number
        w.varint(key - prev)
        prev = key
      }
      return
    }
    const packed = w.span((regs.length * 3) >>> 2)
    for (let i = 0, o = 0; i < regs.length; i += 4, o += 3) {
      const r0 = regs[i] as number
      const r1 = regs[i + 1] as number
      const r2 = regs[i + 2] as number
      const r3 = regs[i + 3] as number
      packed[o] = (r0 << 2) | (r1 >>> 4)
      packed[o + 1] = ((r1 & 15) << 4) | (r2 >>> 2)
      packed[o + 2] = ((r2 & 3) << 6) | r3
    }
  }

  /**
   * Decodes {@link toBytes}'s output.
   * @throws HarvestGuardError HG_SKETCH_CORRUPT on anything else, naming the byte offset.
   */
  static fromBytes(bytes: Uint8Array): HyperLogLog {
    const r = new ByteReader(bytes, 'HyperLogLog')
    const hll = HyperLogLog.readFrom(r)
    r.end()
    return hll
  }

  /** Reads one sketch written by {@link writeTo}. */
  static readFrom(r: ByteReader): HyperLogLog {
    const start = r.offset
    const version = r.byte('version')
    if (version !== FORMAT_VERSION) r.fail(`unknown version ${version}`, start)
    const precision = r.byte('precision')
    if (precision < MIN_PRECISION || precision > MAX_PRECISION) {
      r.fail(`precision ${precision} out of range`, start + 1)
    }
    const kind = r.byte('kind')
    if (kind !== KIND_SPARSE && kind !== KIND_DENSE) r.fail(`unknown kind ${kind}`, start + 2)
    const limitAt = r.offset
    const limit = r.varint('sparse limit')
    if (limit < 1 || limit > 1 << precision) r.fail(`sparse limit ${limit} out of range`, limitAt)
    const hll = new HyperLogLog(precision, limit)
    if (kind === KIND_SPARSE) {
      const countAt = r.offset
      const n = r.varint('entry count')
      if (n > limit) r.fail(`${n} sparse entries exceed the sparse limit ${limit}`, countAt)
      if (n > r.remaining) r.fail(`truncated: ${n} entries in ${r.remaining} bytes`, countAt)
      if (n === 0) return hll
      const list = doubles(n)
      let prev = 0
      for (let i = 0; i < n; i++) {
        const at = r.offset
        const delta = r.varint('entry')
        if (i > 0 && delta === 0) r.fail('entries not strictly increasing', at)
        const key = prev + delta
        if (key >= 2 ** 53) r.fail('entry exceeds 53 bits', at)
        list[i] = key
        prev = key
      }
      hll.#sparse = list
      hll.#n = n
      return hll
    }
    const m = 1 << precision
    const packed = r.bytes((m * 3) >>> 2, 'registers')
    const max = 54 - precision
    hll.#promote()
    const regs = hll.#regs as Uint8Array
    for (let i = 0, o = 0; i < m; i += 4, o += 3) {
      const b0 = packed[o] as number
      const b1 = packed[o + 1] as number
      const b2 = packed[o + 2] as number
      regs[i] = b0 >>> 2
      regs[i + 1] = ((b0 & 3) << 4) | (b1 >>> 4)
      regs[i + 2] = ((b1 & 15) << 2) | (b2 >>> 6)
      regs[i + 3] = b2 & 63
    }
    for (let i = 0; i < m; i++) {
      const v = regs[i] as number
      if (v > max) r.fail(`register ${i} holds ${v}, above ${max}`, r.offset - packed.length)
    }
    return hll
  }
}
