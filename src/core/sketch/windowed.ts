import { HarvestGuardError } from '../errors.ts'
import type { Digest } from '../exposure.ts'
import { ByteReader, ByteWriter, SKETCH_MISMATCH, grownCapacity, doubles } from './bytes.ts'
import {
  HyperLogLog,
  MAX_PRECISION,
  MIN_PRECISION,
  SKETCH_OPTIONS,
  mixDigest,
  mixedHi,
  mixedLo,
} from './hyperloglog.ts'

/** One sliding window: `windowMs` wide, sliding by `windowMs / buckets`. */
export interface WindowSpec {
  /** Label used in reports and config, e.g. `'1h'`. */
  readonly name: string
  /** Width of the window in milliseconds; a multiple of `buckets`. */
  readonly windowMs: number
  /** Number of time buckets the window slides by (its granularity), 1..4096. */
  readonly buckets: number
}

/** Options of {@link Windows}. */
export interface WindowsOptions {
  /** Precision of the per-bucket HyperLogLogs once a WindowedDistinct is dense. @default 12 */
  readonly precision?: number
  /**
   * Distinct hashes a WindowedDistinct keeps exactly (16 bytes each) before promoting to
   * bucket sketches. @default 64
   */
  readonly sparseLimit?: number
  /**
   * Live (bucket, count) pairs a WindowedCounter keeps before promoting to bucket rings.
   * @default 4
   */
  readonly counterPairs?: number
}

const FORMAT_VERSION = 1
const KIND_SPARSE = 0
const KIND_DENSE = 1
const MAX_BUCKETS = 4096

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b
    a = b
    b = t
  }
  return a
}

function optionError(message: string): HarvestGuardError {
  return new HarvestGuardError(SKETCH_OPTIONS, `Windows ${message}`)
}

/**
 * The compiled set of sliding windows a ledger tracks; built once and shared by every
 * WindowedDistinct and WindowedCounter (never copied per principal). Buckets are aligned to the
 * epoch (bucket = floor(timeMs / bucketMs)) so that sketches of different guards merge bucket by
 * bucket. Internally time is counted in units of the greatest common divisor of the bucket
 * widths: two events in the same unit share a bucket in every window, which is what lets one
 * small list serve every window while a structure is idle.
 *
 * @example
 * const windows = new Windows([
 *   { name: '1h', windowMs: 3_600_000, buckets: 12 },
 *   { name: '24h', windowMs: 86_400_000, buckets: 24 },
 *   { name: '30d', windowMs: 2_592_000_000, buckets: 30 },
 * ])
 */
export class Windows {
  readonly specs: readonly WindowSpec[]
  /** HyperLogLog precision of dense WindowedDistinct buckets. @default 12 */
  readonly precision: number
  /** See {@link WindowsOptions.sparseLimit}. @default 64 */
  readonly sparseLimit: number
  /** See {@link WindowsOptions.counterPairs}. @default 4 */
  readonly counterPairs: number
  /** Milliseconds per time unit: gcd of the bucket widths. */
  readonly unitMs: number
  /** Per window: bucket width in milliseconds. */
  readonly bucketMs: readonly number[]
  /** Per window: bucket width in units. */
  readonly bucketUnits: readonly number[]
  /** Per window: offset of its ring in a dense WindowedCounter's array. */
  readonly counterOffsets: readonly number[]
  /** Length of a dense WindowedCounter's array. */
  readonly counterLength: number
  /**
   * Per window: whether the bucket width of every later window is a multiple of this one's, so
   * that (buckets being aligned to the epoch) each later window's bucket holding a time holds
   * this window's bucket holding it. A dense WindowedDistinct then stops at the first window
   * whose bucket already held a hash: the later ones hold it too.
   */
  readonly nested: readonly boolean[]

  constructor(specs: readonly WindowSpec[], options: WindowsOptions = {}) {
    if (!Array.isArray(specs) || specs.length === 0 || specs.length > 64) {
      throw optionError('specs: expected 1 to 64 window specs')
    }
    const names = new Set<string>()
    const bucketMs: number[] = []
    specs.forEach((spec, i) => {
      const where = `specs[${i}]`
      if (typeof spec?.name !== 'string' || spec.name === '') {
        throw optionError(`${where}.name: expected a non-empty string`)
      }
      if (names.has(spec.name)) throw optionError(`${where}.name: duplicate "${spec.name}"`)
      names.add(spec.name)
      if (!Number.isSafeInteger(spec.windowMs) || spec.windowMs < 1) {
        throw optionError(`${where}.windowMs: expected a positive integer, got ${spec.windowMs}`)
      }
      if (!Number.isInteger(spec.buckets) || spec.buckets < 1 || spec.buckets > MAX_BUCKETS) {
        throw optionError(
          `${where}.buckets: expected an integer from 1 to ${MAX_BUCKETS}, got ${spec.buckets}`,
        )
      }
      if (spec.windowMs % spec.buckets !== 0) {
        throw optionError(
          `${where}: windowMs ${spec.windowMs} is not a multiple of buckets ${spec.buckets}`,
        )
      }
      bucketMs.push(spec.windowMs / spec.buckets)
    })
    const precision = options.precision ?? 12
    if (!Number.isInteger(precision) || precision < MIN_PRECISION || precision > MAX_PRECISION) {
      throw optionError(
        `precision: expected an integer from ${MIN_PRECISION} to ${MAX_PRECISION}, got ${precision}`,
      )
    }
    const sparseLimit = options.sparseLimit ?? 64
    if (!Number.isInteger(sparseLimit) || sparseLimit < 1 || sparseLimit > 65536) {
      throw optionError(`sparseLimit: expected an integer from 1 to 65536, got ${sparseLimit}`)
    }
    const counterPairs = options.counterPairs ?? 4
    if (!Number.isInteger(counterPairs) || counterPairs < 1 || counterPairs > 4096) {
      throw optionError(`counterPairs: expected an integer from 1 to 4096, got ${counterPairs}`)
    }
    const unitMs = bucketMs.reduce(gcd)
    const offsets: number[] = []
    let length = 0
    for (const spec of specs) {
      offsets.push(length)
      length += spec.buckets + 2
    }
    this.specs = Object.freeze(specs.map((s) => Object.freeze({ ...s })))
    this.precision = precision
    this.sparseLimit = sparseLimit
    this.counterPairs = counterPairs
    this.unitMs = unitMs
    this.bucketMs = Object.freeze(bucketMs)
    this.bucketUnits = Object.freeze(bucketMs.map((ms) => ms / unitMs))
    this.counterOffsets = Object.freeze(offsets)
    this.counterLength = length
    this.nested = Object.freeze(
      bucketMs.map((ms, w) => bucketMs.every((later, v) => v <= w || later % ms === 0)),
    )
  }

  /** The time unit of an event time; negative or non-finite times count as unit 0. */
  unitOf(timeMs: number): number {
    const u = Math.floor(timeMs / this.unitMs)
    return u >= 0 ? u : 0
  }

  /** Oldest unit still inside window `w` when the newest unit seen is `newest`. */
  oldestUnit(w: number, newest: number): number {
    const bu = this.bucketUnits[w] as number
    return (Math.floor(newest / bu) - (this.specs[w] as WindowSpec).buckets + 1) * bu
  }

  /** Oldest unit still inside any window when the newest unit seen is `newest`. */
  oldestLiveUnit(newest: number): number {
    let oldest = newest
    for (let w = 0; w < this.specs.length; w++) {
      const o = this.oldestUnit(w, newest)
      if (o < oldest) oldest = o
    }
    return oldest
  }

  /** Whether `other` has the same windows and precision (so their sketches merge). */
  sameAs(other: Windows): boolean {
    if (other === this) return true
    if (other.precision !== this.precision || other.specs.length !== this.specs.length) {
      return false
    }
    return this.specs.every(
      (s, i) =>
        s.windowMs === (other.specs[i] as WindowSpec).windowMs &&
        s.buckets === (other.specs[i] as WindowSpec).buckets,
    )
  }

  /** Writes what a reader must match: precision, then each window's width and buckets. */
  writeShape(w: ByteWriter): void {
    w.byte(this.precision)
    w.varint(this.specs.length)
    for (const s of this.specs) {
      w.varint(s.windowMs)
      w.varint(s.buckets)
    }
  }

  /** Reads {@link writeShape}'s output and checks it against these windows. */
  readShape(r: ByteReader, what: string): void {
    const precision = r.byte('precision')
    const count = r.varint('window count')
    let same = precision === this.precision && count === this.specs.length
    for (let i = 0; i < count && i < 64; i++) {
      const windowMs = r.varint('windowMs')
      const buckets = r.varint('buckets')
      const spec = this.specs[i]
      if (spec === undefined || spec.windowMs !== windowMs || spec.buckets !== buckets) {
        same = false
      }
    }
    if (count > 64) r.fail(`window count ${count} out of range`)
    if (!same) {
      throw new HarvestGuardError(
        SKETCH_MISMATCH,
        `${what}: serialised for other windows or precision than the ones given`,
      )
    }
  }
}

/**
 * Where one instant falls in a {@link Windows}: its time unit and its bucket in each window.
 * Every sketch recording an event computes the same, so a feeder recording one event into many
 * sketches (the engine: every principal's ledger, every weight tier) computes it once: a unit
 * and a bucket per window are a division each, four per add before, ~80 adds a response of 14
 * records on 3 principals.
 */
export class WindowSlots {
  readonly windows: Windows
  /** The instant the slots are for (NaN: none yet). */
  timeMs = Number.NaN
  /** `windows.unitOf(timeMs)`. */
  unit = 0
  /** Per window: `Math.floor(unit / windows.bucketUnits[w])`, the time's bucket. */
  readonly buckets: number[]
  /**
   * Per window: the bucket's slot in a ring of the window's buckets (`bucket % buckets`). A
   * plain array, not a Float64Array: read from one, the bucket was a double to V8 and the ring's
   * modulo a floating-point remainder (a call), a fifth of the sketch adds' time.
   */
  readonly slots: number[]

  constructor(windows: Windows) {
    this.windows = windows
    this.buckets = windows.specs.map(() => 0)
    this.slots = windows.specs.map(() => 0)
  }

  /** Points the slots at `timeMs` (nothing to do when they already are). */
  at(timeMs: number): this {
    if (timeMs === this.timeMs) return this
    const windows = this.windows
    const u = windows.unitOf(timeMs)
    const units = windows.bucketUnits
    for (let w = 0; w < units.length; w++) {
      const b = Math.floor(u / (units[w] as number))
      this.buckets[w] = b
      this.slots[w] = b % (windows.specs[w] as WindowSpec).buckets
    }
    this.unit = u
    this.timeMs = timeMs
    return this
  }
}

function mismatch(what: string): HarvestGuardError {
  return new HarvestGuardError(SKETCH_MISMATCH, `${what} merge: the two use different Windows`)
}

// V8 sizes as Node ships it (64-bit, no pointer compression), calibrated with
// process.memoryUsage() in bench/sketch.bench.ts: a class instance is 32 bytes plus 8 a field,
// a number[] 48 plus 8 a double, a double that is not a 31-bit integer held in a field is boxed
// in a 16-byte HeapNumber, a typed array with its ArrayBuffer is about 200 bytes plus data.
const OBJECT_BYTES = 32
const FIELD_BYTES = 8
const ARRAY_BYTES = 48
const BOXED_DOUBLE_BYTES = 16
const TYPED_ARRAY_BYTES = 200

// Outcomes of DistinctRing.add.
const ADDED = 0
const PRESENT = 1
const IGNORED = 2
// DistinctRing.single when the union is kept, and when the ring holds nothing.
const UNION = -1
const NONE = -2

/** The per-window state of a dense WindowedDistinct: a ring of bucket sketches and their union. */
class DistinctRing {
  readonly buckets: number
  readonly slots: (HyperLogLog | undefined)[]
  // Bucket index held by each slot, -1 when empty.
  readonly ids: number[]
  head = -1
  readonly union: HyperLogLog
  // Oldest bucket whose hashes the union may hold; when it leaves the window the union is
  // rebuilt from the live buckets. Adds only grow the union, so estimates stay O(1) between.
  // -Infinity: the union is not built yet (a decoded ring), the next estimate builds it.
  unionMin = Infinity
  // While every hash of the ring sits in one live bucket (a ledger younger than a bucket: most
  // of them in the long windows), that bucket IS the union: `single` is its id and `union`
  // stays empty; UNION once a second bucket is live, NONE while empty. The bench's busy
  // ledgers did 6 HyperLogLog adds a record, 4 with this (same registers, same estimates).
  single = NONE
  readonly precision: number

  constructor(buckets: number, precision: number, head: number) {
    this.buckets = buckets
    this.precision = precision
    this.slots = Array.from({ length: buckets }, () => undefined)
    this.ids = doubles(buckets).fill(-1)
    this.head = head
    this.union = new HyperLogLog(precision)
  }

  /**
   * Adds a mixed hash to bucket `b`: ADDED when the bucket changed, PRESENT when it already held
   * the hash (or a register as high), IGNORED when `b` has left the ring.
   */
  add(lo: number, hi: number, b: number): number {
    return this.addAt(lo, hi, b, b % this.buckets)
  }

  /** {@link add} with the bucket's slot `s` (`b % buckets`) already known. */
  addAt(lo: number, hi: number, b: number, s: number): number {
    if (b > this.head) this.head = b
    else if (b <= this.head - this.buckets) return IGNORED
    let h = this.slots[s]
    if (this.ids[s] !== b) {
      if (h === undefined) {
        h = new HyperLogLog(this.precision)
        this.slots[s] = h
      } else h.clear()
      this.ids[s] = b
      const single = this.single
      if (single !== UNION) {
        // A second live bucket: keep the union from now on (built from the live buckets).
        if (single >= 0 && single > this.head - this.buckets) {
          this.rebuild(this.head - this.buckets + 1, true)
        } else this.single = b
      }
    }
    // The union holds every live bucket (register max), so a hash the bucket already held
    // changes nothing there: skipping it halves the register touches of a busy ledger whose
    // records repeat (measured in bench/engine.bench.ts, where they are cache misses).
    if (!(h as HyperLogLog).addMixed(lo, hi)) return PRESENT
    if (this.single === UNION) {
      this.union.addMixed(lo, hi)
      if (b < this.unionMin) this.unionMin = b
    }
    return ADDED
  }

  estimate(b: number): number {
    const oldest = (b > this.head ? b : this.head) - this.buckets + 1
    // A rebuild may leave one live bucket: then that bucket answers.
    if (this.single === UNION && this.unionMin < oldest) this.rebuild(oldest)
    const single = this.single
    if (single === UNION) return this.union.estimate()
    if (single === NONE || single < oldest) return 0
    return (this.slots[single % this.buckets] as HyperLogLog).estimate()
  }

  /**
   * Forgets the buckets older than `oldest` and rebuilds the union from the live ones; with
   * one live bucket or none the union is left empty (see `single`) unless `keepUnion`.
   */
  rebuild(oldest: number, keepUnion = false): void {
    this.union.clear()
    this.unionMin = Infinity
    let live = 0
    let only = NONE
    for (let s = 0; s < this.buckets; s++) {
      const id = this.ids[s] as number
      if (id < 0) continue
      if (id < oldest) {
        this.ids[s] = -1
        ;(this.slots[s] as HyperLogLog).clear()
        continue
      }
      live++
      only = id
    }
    if (live <= 1 && !keepUnion) {
      this.single = only
      return
    }
    this.single = UNION
    for (let s = 0; s < this.buckets; s++) {
      const id = this.ids[s] as number
      if (id < 0) continue
      this.union.merge(this.slots[s] as HyperLogLog)
      if (id < this.unionMin) this.unionMin = id
    }
  }

  /** Merges another ring of the same shape bucket by bucket (same index = same time span). */
  merge(other: DistinctRing): void {
    if (other.head > this.head) this.head = other.head
    const oldest = this.head - this.buckets + 1
    // A kept union holds every slot's bucket (each one's id is >= unionMin): when none has left
    // the window it is current, and only the other's buckets are added to it. Otherwise it is
    // settled after the buckets are merged, and built only if two or more are live. Rebuilding
    // it first every time was a third of a fleet view's refresh (bench/fleet.bench.ts).
    const current = this.single === UNION && this.unionMin >= oldest
    if (!current) {
      for (let s = 0; s < this.buckets; s++) {
        const id = this.ids[s] as number
        if (id >= 0 && id < oldest) {
          this.ids[s] = -1
          ;(this.slots[s] as HyperLogLog).clear()
        }
      }
    }
    for (let s = 0; s < other.buckets; s++) {
      const id = other.ids[s] as number
      if (id < 0 || id < oldest) continue
      const src = other.slots[s] as HyperLogLog
      let h = this.slots[s]
      if (h === undefined) {
        h = new HyperLogLog(this.precision)
        this.slots[s] = h
      }
      // No bucket of ours left the window now: a live slot holds the same bucket id or nothing.
      this.ids[s] = id
      h.merge(src)
      if (current) {
        this.union.merge(src)
        if (id < this.unionMin) this.unionMin = id
      }
    }
    if (!current) this.rebuild(oldest)
  }

  get heapBytes(): number {
    let bytes = OBJECT_BYTES + 8 * FIELD_BYTES + BOXED_DOUBLE_BYTES
    bytes += 2 * ARRAY_BYTES + this.buckets * (8 + 8) + this.union.heapBytes
    for (const h of this.slots) if (h !== undefined) bytes += h.heapBytes
    return bytes
  }
}

/**
 * Distinct digests seen over each window of a {@link Windows}, sliding by bucket. While small,
 * ONE exact list of (digest, last-seen unit) pairs serves every window (about 16 bytes a
 * digest, and the counts are exact); past `windows.sparseLimit` live digests it promotes to
 * per-window rings of bucket HyperLogLogs plus a running union per window, so estimate() stays
 * O(1) amortised (the union is rebuilt only when a bucket leaves the window).
 *
 * Granularity: a digest counts in a window while its last sighting's bucket is one of the
 * window's `buckets` newest, so a window reaches back between `windowMs - bucketMs` and
 * `windowMs` before the newest time seen.
 */
export class WindowedDistinct {
  readonly #windows: Windows
  // Sparse: [digest, unit, digest, unit, ...] sorted by digest; length is the capacity.
  #list: number[] | undefined = undefined
  #n = 0
  #newest = -1
  // A lower bound of the list's last-seen units (stale-low after a digest is seen again, exact
  // after each scan): a window reaching back to it holds the whole list, so the long windows
  // answer in O(1) and only a window that has dropped entries scans.
  #minUnit = 0
  #rings: DistinctRing[] | undefined = undefined

  constructor(windows: Windows) {
    this.#windows = windows
  }

  /** The windows this sketch slides over. */
  get windows(): Windows {
    return this.#windows
  }

  /** Whether it still holds the exact list rather than bucket sketches. */
  get isSparse(): boolean {
    return this.#rings === undefined
  }

  /** Approximate bytes retained on the heap. */
  get heapBytes(): number {
    let bytes = OBJECT_BYTES + 6 * FIELD_BYTES
    if (this.#newest > 0x7fffffff) bytes += 2 * BOXED_DOUBLE_BYTES
    if (this.#list !== undefined) bytes += ARRAY_BYTES + 8 * this.#list.length
    if (this.#rings !== undefined) {
      bytes += ARRAY_BYTES + FIELD_BYTES * this.#rings.length
      for (const ring of this.#rings) bytes += ring.heapBytes
    }
    return bytes
  }

  /** Records a sighting of `hash` at `timeMs`. Older than every window: ignored. */
  add(hash: Digest, timeMs: number): void {
    const windows = this.#windows
    const u = windows.unitOf(timeMs)
    if (u > this.#newest) this.#newest = u
    else if (u < this.#newest && u < windows.oldestLiveUnit(this.#newest)) return
    const rings = this.#rings
    if (rings !== undefined) {
      mixDigest(hash)
      const lo = mixedLo()
      const hi = mixedHi()
      const units = windows.bucketUnits
      const nested = windows.nested
      for (let w = 0; w < rings.length; w++) {
        const r = (rings[w] as DistinctRing).add(lo, hi, Math.floor(u / (units[w] as number)))
        // Every later window's bucket holds this one's (see Windows.nested): they hold it too.
        if (r === PRESENT && nested[w] === true) return
      }
      return
    }
    this.#addSparse(hash, u)
  }

  /**
   * {@link add} with the work shared by every sketch recording the same event done once: `lo`
   * and `hi` are `hash` mixed (mixDigest), `slots` point at the event's time in these windows.
   * Same outcome as `add(hash, slots.timeMs)`.
   */
  addPrepared(hash: Digest, lo: number, hi: number, slots: WindowSlots): void {
    const windows = this.#windows
    if (slots.windows !== windows) {
      this.add(hash, slots.timeMs)
      return
    }
    const u = slots.unit
    if (u > this.#newest) this.#newest = u
    else if (u < this.#newest && u < windows.oldestLiveUnit(this.#newest)) return
    const rings = this.#rings
    if (rings !== undefined) {
      const buckets = slots.buckets
      const at = slots.slots
      const nested = windows.nested
      for (let w = 0; w < rings.length; w++) {
        const r = (rings[w] as DistinctRing).addAt(lo, hi, buckets[w] as number, at[w] as number)
        if (r === PRESENT && nested[w] === true) return
      }
      return
    }
    this.#addSparse(hash, u)
  }

  #addSparse(hash: number, u: number): void {
    let list = this.#list
    const n = this.#n
    let a = 0
    let b = n
    if (list !== undefined) {
      while (a < b) {
        const mid = (a + b) >>> 1
        const v = list[2 * mid] as number
        if (v < hash) a = mid + 1
        else if (v > hash) b = mid
        else {
          if ((list[2 * mid + 1] as number) < u) list[2 * mid + 1] = u
          return
        }
      }
    }
    if (list === undefined) {
      list = doubles(2)
      list[0] = hash
      list[1] = u
      this.#list = list
    } else {
      if (2 * n === list.length) {
        const next = doubles(2 * grownCapacity(n))
        for (let i = 0; i < 2 * n; i++) next[i] = list[i] as number
        list = next
        this.#list = next
      }
      for (let i = 2 * n + 1; i > 2 * a + 1; i--) list[i] = list[i - 2] as number
      list[2 * a] = hash
      list[2 * a + 1] = u
    }
    this.#n = n + 1
    if (n === 0 || u < this.#minUnit) this.#minUnit = u
    if (n + 1 > this.#windows.sparseLimit) {
      this.#purge()
      if (this.#n > this.#windows.sparseLimit) this.#promote()
    }
  }

  /** Drops list entries that left every window. */
  #purge(): void {
    const list = this.#list
    if (list === undefined) return
    const oldest = this.#windows.oldestLiveUnit(this.#newest)
    let k = 0
    let min = this.#newest
    for (let i = 0; i < this.#n; i++) {
      const u = list[2 * i + 1] as number
      if (u < oldest) continue
      list[2 * k] = list[2 * i] as number
      list[2 * k + 1] = u
      if (u < min) min = u
      k++
    }
    for (let i = 2 * k; i < 2 * this.#n; i++) list[i] = 0
    this.#n = k
    this.#minUnit = min
  }

  #promote(): void {
    const windows = this.#windows
    const units = windows.bucketUnits
    const rings: DistinctRing[] = []
    for (let w = 0; w < windows.specs.length; w++) {
      const bu = units[w] as number
      const spec = windows.specs[w] as WindowSpec
      rings.push(new DistinctRing(spec.buckets, windows.precision, Math.floor(this.#newest / bu)))
    }
    // #n is 0 whenever #list is undefined.
    const list = this.#list ?? []
    for (let i = 0; i < this.#n; i++) {
      mixDigest(list[2 * i] as number)
      const lo = mixedLo()
      const hi = mixedHi()
      const u = list[2 * i + 1] as number
      for (let w = 0; w < rings.length; w++) {
        ;(rings[w] as DistinctRing).add(lo, hi, Math.floor(u / (units[w] as number)))
      }
    }
    this.#rings = rings
    this.#list = undefined
    this.#n = 0
  }

  /**
   * Estimated distinct digests in window `window` (index into `windows.specs`) as of `timeMs`
   * (or the newest time seen, if later). Exact while sparse.
   */
  estimate(window: number, timeMs: number): number {
    const windows = this.#windows
    let u = windows.unitOf(timeMs)
    if (u < this.#newest) u = this.#newest
    const rings = this.#rings
    if (rings !== undefined) {
      const ring = rings[window]
      if (ring === undefined) throw new RangeError(`no window ${window}`)
      return ring.estimate(Math.floor(u / (windows.bucketUnits[window] as number)))
    }
    if (window >= windows.specs.length || !(window >= 0))
      throw new RangeError(`no window ${window}`)
    const list = this.#list
    if (list === undefined) return 0
    const oldest = windows.oldestUnit(window, u)
    const n = this.#n
    if (oldest <= this.#minUnit) return n
    let count = 0
    let min = u
    for (let i = 1, end = 2 * n; i < end; i += 2) {
      const seen = list[i] as number
      if (seen >= oldest) count++
      if (seen < min) min = seen
    }
    this.#minUnit = min
    return count
  }

  /**
   * Merges another WindowedDistinct over the same windows (union, bucket by bucket).
   * @throws HarvestGuardError HG_SKETCH_MISMATCH when the windows differ.
   */
  merge(other: WindowedDistinct): void {
    if (!this.#windows.sameAs(other.#windows)) throw mismatch('WindowedDistinct')
    if (other === this) return
    if (other.#newest > this.#newest) this.#newest = other.#newest
    const otherRings = other.#rings
    if (otherRings === undefined) {
      const list = other.#list ?? []
      for (let i = 0; i < other.#n; i++) {
        this.add(list[2 * i] as number, (list[2 * i + 1] as number) * this.#windows.unitMs)
      }
      return
    }
    if (this.#rings === undefined) this.#promote()
    const rings = this.#rings as DistinctRing[]
    for (let w = 0; w < rings.length; w++) {
      ;(rings[w] as DistinctRing).merge(otherRings[w] as DistinctRing)
    }
  }

  /** Compact bytes: version, kind, windows shape, newest unit, then the list or the rings. */
  toBytes(): Uint8Array {
    const rings = this.#rings
    // sized up front: a fleet guard serialises its busy ledgers every sync round, and growing
    // by doubling copied each dense one about 7 times
    let size = 64 + 16 * this.#n
    if (rings !== undefined) {
      for (const ring of rings) {
        size += ring.buckets + 8
        for (const h of ring.slots) {
          if (h !== undefined) size += h.isSparse ? 64 : 8 + ((3 << ring.precision) >>> 2)
        }
      }
    }
    const w = new ByteWriter(size)
    w.byte(FORMAT_VERSION)
    w.byte(rings === undefined ? KIND_SPARSE : KIND_DENSE)
    this.#windows.writeShape(w)
    w.varint(this.#newest + 1)
    if (rings === undefined) {
      const list = this.#list
      w.varint(this.#n)
      let prev = 0
      for (let i = 0; i < this.#n; i++) {
        const hash = (list as number[])[2 * i] as number
        w.varint(hash - prev)
        w.varint(this.#newest - ((list as number[])[2 * i + 1] as number))
        prev = hash
      }
      return w.finish()
    }
    for (const ring of rings) {
      // buckets that left the window are skipped below (their slot holds another id)
      w.varint(ring.head + 1)
      for (let k = 0; k < ring.buckets; k++) {
        const id = ring.head - k
        const s = ((id % ring.buckets) + ring.buckets) % ring.buckets
        const h = ring.slots[s]
        if (id < 0 || ring.ids[s] !== id || h === undefined) {
          w.byte(0)
          continue
        }
        w.byte(1)
        h.writeTo(w)
      }
    }
    return w.finish()
  }

  /**
   * Decodes {@link toBytes}'s output for the given windows.
   * @throws HarvestGuardError HG_SKETCH_CORRUPT on malformed bytes, HG_SKETCH_MISMATCH when they
   *   were written for other windows.
   */
  static fromBytes(bytes: Uint8Array, windows: Windows): WindowedDistinct {
    const r = new ByteReader(bytes, 'WindowedDistinct')
    const version = r.byte('version')
    if (version !== FORMAT_VERSION) r.fail(`unknown version ${version}`, 0)
    const kind = r.byte('kind')
    if (kind !== KIND_SPARSE && kind !== KIND_DENSE) r.fail(`unknown kind ${kind}`, 1)
    windows.readShape(r, 'WindowedDistinct')
    const out = new WindowedDistinct(windows)
    const newest = r.varint('newest unit') - 1
    out.#newest = newest
    if (kind === KIND_SPARSE) {
      const countAt = r.offset
      const n = r.varint('entry count')
      if (n * 2 > r.remaining) r.fail(`truncated: ${n} entries in ${r.remaining} bytes`, countAt)
      if (n > 0 && newest < 0) r.fail('entries without a newest time', countAt)
      const list = doubles(2 * n)
      let prev = 0
      for (let i = 0; i < n; i++) {
        const at = r.offset
        const delta = r.varint('digest')
        if (i > 0 && delta === 0) r.fail('digests not strictly increasing', at)
        const hash = prev + delta
        if (hash >= 2 ** 53) r.fail('digest exceeds 53 bits', at)
        const age = r.varint('age')
        if (age > newest) r.fail(`age ${age} before time 0`, at)
        list[2 * i] = hash
        list[2 * i + 1] = newest - age
        prev = hash
      }
      r.end()
      if (n > 0) {
        out.#list = list
        out.#n = n
      }
      if (n > windows.sparseLimit) out.#promote()
      return out
    }
    const rings: DistinctRing[] = []
    for (let w = 0; w < windows.specs.length; w++) {
      const at = r.offset
      const head = r.varint('ring head') - 1
      const expected = Math.floor(newest / (windows.bucketUnits[w] as number))
      if (head > expected) r.fail(`ring ${w} head ${head} is past the newest time`, at)
      const ring = new DistinctRing(
        (windows.specs[w] as WindowSpec).buckets,
        windows.precision,
        head,
      )
      for (let k = 0; k < ring.buckets; k++) {
        const flagAt = r.offset
        const flag = r.byte('bucket flag')
        if (flag === 0) continue
        if (flag !== 1) r.fail(`bucket flag ${flag}`, flagAt)
        const id = head - k
        if (id < 0) r.fail(`bucket ${id} before time 0`, flagAt)
        const h = HyperLogLog.readFrom(r)
        if (h.precision !== windows.precision) {
          r.fail(`bucket precision ${h.precision}, expected ${windows.precision}`, flagAt)
        }
        const s = id % ring.buckets
        ring.slots[s] = h
        ring.ids[s] = id
      }
      // The union is built by the first estimate (a unionMin below every bucket makes it
      // rebuild): a fleet peer's decoded sketch is only merged into a view, never estimated.
      ring.single = UNION
      ring.unionMin = -Infinity
      rings.push(ring)
    }
    r.end()
    out.#rings = rings
    return out
  }
}

/**
 * Event counts over each window of a {@link Windows}, same bucketing as WindowedDistinct. While
 * idle it holds a few (unit, count) pairs in one small array (a single pair while every event fell
 * in one unit); past `windows.counterPairs` live pairs it promotes to one Float64Array holding a
 * ring of bucket counts and a running total per window, so total() is O(1) amortised.
 */
export class WindowedCounter {
  readonly #windows: Windows
  // Sparse: [unit, count, unit, count, ...] in arrival order; length is the capacity.
  #list: number[] | undefined = undefined
  #n = 0
  #newest = -1
  // While #list is undefined: the count at unit #newest. One live unit is the common idle case
  // (a few requests within minutes), and a field costs 8 bytes where the smallest array is 64.
  #only = 0
  // Dense: per window [head bucket, running total, slot 0 .. slot buckets-1].
  #dense: Float64Array | undefined = undefined

  constructor(windows: Windows) {
    this.#windows = windows
  }

  /** The windows this counter slides over. */
  get windows(): Windows {
    return this.#windows
  }

  /** Whether it still holds the pair list rather than bucket rings. */
  get isSparse(): boolean {
    return this.#dense === undefined
  }

  /** Approximate bytes retained on the heap. */
  get heapBytes(): number {
    let bytes = OBJECT_BYTES + 6 * FIELD_BYTES
    if (this.#newest > 0x7fffffff) bytes += BOXED_DOUBLE_BYTES
    if (!Number.isInteger(this.#only) || this.#only > 0x7fffffff) bytes += BOXED_DOUBLE_BYTES
    if (this.#list !== undefined) bytes += ARRAY_BYTES + 8 * this.#list.length
    if (this.#dense !== undefined) bytes += TYPED_ARRAY_BYTES + this.#dense.byteLength
    return bytes
  }

  /** Counts `n` events at `timeMs` (@default 1). Older than every window: ignored. */
  add(timeMs: number, n = 1): void {
    const windows = this.#windows
    const u = windows.unitOf(timeMs)
    const prev = this.#newest
    if (u > prev) this.#newest = u
    else if (u < prev && u < windows.oldestLiveUnit(prev)) return
    const dense = this.#dense
    if (dense !== undefined) {
      this.#addDense(dense, u, n)
      return
    }
    let list = this.#list
    if (list === undefined) {
      const only = this.#only
      if (only === 0 ? u === this.#newest : u === prev) {
        this.#only = only + n
        return
      }
      list = this.#spill(prev)
    }
    const pairs = this.#n
    for (let i = 2 * pairs - 2; i >= 0; i -= 2) {
      if (list[i] === u) {
        list[i + 1] = (list[i + 1] as number) + n
        return
      }
    }
    if (2 * pairs === list.length) {
      const next = doubles(2 * grownCapacity(pairs))
      for (let i = 0; i < 2 * pairs; i++) next[i] = list[i] as number
      list = next
      this.#list = next
    }
    list[2 * pairs] = u
    list[2 * pairs + 1] = n
    this.#n = pairs + 1
    if (pairs + 1 > windows.counterPairs) {
      this.#purge()
      if (this.#n > windows.counterPairs) this.#promote()
    }
  }

  /**
   * `add(slots.timeMs)` with the event's buckets and ring slots already worked out (one
   * {@link WindowSlots} per event, shared with the distinct sketches): a dense counter's add
   * divided its time once per window and took a floating-point remainder for each ring slot.
   */
  addAt(slots: WindowSlots): void {
    const windows = this.#windows
    const dense = this.#dense
    if (dense === undefined || slots.windows !== windows) {
      this.add(slots.timeMs)
      return
    }
    const u = slots.unit
    const prev = this.#newest
    if (u > prev) this.#newest = u
    else if (u < prev && u < windows.oldestLiveUnit(prev)) return
    const offsets = windows.counterOffsets
    const specs = windows.specs
    const buckets = slots.buckets
    const at = slots.slots
    for (let w = 0; w < offsets.length; w++) {
      const off = offsets[w] as number
      const b = buckets[w] as number
      const head = dense[off] as number
      if (b > head) advance(dense, off, (specs[w] as WindowSpec).buckets, b)
      else if (b <= head - (specs[w] as WindowSpec).buckets) continue
      const s = off + 2 + (at[w] as number)
      dense[s] = (dense[s] as number) + 1
      dense[off + 1] = (dense[off + 1] as number) + 1
    }
  }

  /** Moves the single in-field pair (at unit `unit`) into a list and returns the list. */
  #spill(unit: number): number[] {
    const list = doubles(2)
    if (this.#only !== 0) {
      list[0] = unit
      list[1] = this.#only
      this.#n = 1
    } else this.#n = 0
    this.#only = 0
    this.#list = list
    return list
  }

  #addDense(dense: Float64Array, u: number, n: number): void {
    const windows = this.#windows
    const units = windows.bucketUnits
    const offsets = windows.counterOffsets
    for (let w = 0; w < units.length; w++) {
      const off = offsets[w] as number
      const buckets = (windows.specs[w] as WindowSpec).buckets
      const b = Math.floor(u / (units[w] as number))
      const head = dense[off] as number
      if (b > head) advance(dense, off, buckets, b)
      else if (b <= head - buckets) continue
      const s = off + 2 + (b % buckets)
      dense[s] = (dense[s] as number) + n
      dense[off + 1] = (dense[off + 1] as number) + n
    }
  }

  #purge(): void {
    const list = this.#list
    if (list === undefined) return
    const oldest = this.#windows.oldestLiveUnit(this.#newest)
    let k = 0
    for (let i = 0; i < this.#n; i++) {
      const u = list[2 * i] as number
      if (u < oldest) continue
      list[2 * k] = u
      list[2 * k + 1] = list[2 * i + 1] as number
      k++
    }
    for (let i = 2 * k; i < 2 * this.#n; i++) list[i] = 0
    this.#n = k
  }

  #promote(): void {
    const windows = this.#windows
    const dense = new Float64Array(windows.counterLength)
    for (let w = 0; w < windows.specs.length; w++) {
      dense[windows.counterOffsets[w] as number] = Math.floor(
        this.#newest / (windows.bucketUnits[w] as number),
      )
    }
    // #n is 0 whenever #list is undefined.
    const list = this.#list ?? []
    for (let i = 0; i < this.#n; i++) {
      this.#addDense(dense, list[2 * i] as number, list[2 * i + 1] as number)
    }
    if (this.#only !== 0) this.#addDense(dense, this.#newest, this.#only)
    this.#only = 0
    this.#dense = dense
    this.#list = undefined
    this.#n = 0
  }

  /**
   * Events counted in window `window` (index into `windows.specs`) as of `timeMs` (or the
   * newest time seen, if later).
   */
  total(window: number, timeMs: number): number {
    const windows = this.#windows
    if (window >= windows.specs.length || !(window >= 0))
      throw new RangeError(`no window ${window}`)
    let u = windows.unitOf(timeMs)
    if (u < this.#newest) u = this.#newest
    const dense = this.#dense
    if (dense !== undefined) {
      const off = windows.counterOffsets[window] as number
      const b = Math.floor(u / (windows.bucketUnits[window] as number))
      if (b > (dense[off] as number)) {
        advance(dense, off, (windows.specs[window] as WindowSpec).buckets, b)
      }
      return dense[off + 1] as number
    }
    const list = this.#list
    const oldest = windows.oldestUnit(window, u)
    if (list === undefined) return this.#newest >= oldest ? this.#only : 0
    let sum = 0
    for (let i = 0; i < 2 * this.#n; i += 2) {
      if ((list[i] as number) >= oldest) sum += list[i + 1] as number
    }
    return sum
  }

  /**
   * Adds another counter's counts bucket by bucket (counters add: merge a delta, not the same
   * counter twice).
   * @throws HarvestGuardError HG_SKETCH_MISMATCH when the windows differ.
   */
  merge(other: WindowedCounter): void {
    const windows = this.#windows
    if (!windows.sameAs(other.#windows)) throw mismatch('WindowedCounter')
    if (other === this) {
      const copy = WindowedCounter.fromBytes(other.toBytes(), windows)
      this.merge(copy)
      return
    }
    const otherDense = other.#dense
    if (otherDense === undefined) {
      const list = other.#list ?? []
      for (let i = 0; i < other.#n; i++) {
        this.add((list[2 * i] as number) * windows.unitMs, list[2 * i + 1] as number)
      }
      if (other.#only !== 0) this.add(other.#newest * windows.unitMs, other.#only)
      return
    }
    // The in-field pair sits at #newest, which is about to move.
    if (this.#dense === undefined && this.#list === undefined) this.#spill(this.#newest)
    if (other.#newest > this.#newest) this.#newest = other.#newest
    if (this.#dense === undefined) this.#promote()
    const dense = this.#dense as Float64Array
    for (let w = 0; w < windows.specs.length; w++) {
      const off = windows.counterOffsets[w] as number
      const buckets = (windows.specs[w] as WindowSpec).buckets
      const otherHead = otherDense[off] as number
      if (otherHead > (dense[off] as number)) advance(dense, off, buckets, otherHead)
      const head = dense[off] as number
      for (let k = 0; k < buckets; k++) {
        const b = otherHead - k
        if (b <= head - buckets || b < 0) break
        const c = otherDense[off + 2 + (b % buckets)] as number
        if (c === 0) continue
        const s = off + 2 + (b % buckets)
        dense[s] = (dense[s] as number) + c
        dense[off + 1] = (dense[off + 1] as number) + c
      }
    }
  }

  /** Compact bytes: version, kind, windows shape, newest unit, then pairs or bucket counts. */
  toBytes(): Uint8Array {
    const windows = this.#windows
    const w = new ByteWriter()
    w.byte(FORMAT_VERSION)
    const dense = this.#dense
    w.byte(dense === undefined ? KIND_SPARSE : KIND_DENSE)
    windows.writeShape(w)
    w.varint(this.#newest + 1)
    if (dense === undefined) {
      const list = this.#list
      if (list === undefined) {
        w.varint(this.#only === 0 ? 0 : 1)
        if (this.#only !== 0) {
          w.varint(0)
          w.f64(this.#only)
        }
        return w.finish()
      }
      w.varint(this.#n)
      for (let i = 0; i < this.#n; i++) {
        w.varint(this.#newest - (list[2 * i] as number))
        w.f64(list[2 * i + 1] as number)
      }
      return w.finish()
    }
    for (let i = 0; i < windows.specs.length; i++) {
      const off = windows.counterOffsets[i] as number
      const buckets = (windows.specs[i] as WindowSpec).buckets
      const head = dense[off] as number
      w.varint(head + 1)
      for (let k = 0; k < buckets; k++) {
        const b = head - k
        w.f64(b < 0 ? 0 : (dense[off + 2 + (b % buckets)] as number))
      }
    }
    return w.finish()
  }

  /**
   * Decodes {@link toBytes}'s output for the given windows.
   * @throws HarvestGuardError HG_SKETCH_CORRUPT on malformed bytes, HG_SKETCH_MISMATCH when they
   *   were written for other windows.
   */
  static fromBytes(bytes: Uint8Array, windows: Windows): WindowedCounter {
    const r = new ByteReader(bytes, 'WindowedCounter')
    const version = r.byte('version')
    if (version !== FORMAT_VERSION) r.fail(`unknown version ${version}`, 0)
    const kind = r.byte('kind')
    if (kind !== KIND_SPARSE && kind !== KIND_DENSE) r.fail(`unknown kind ${kind}`, 1)
    windows.readShape(r, 'WindowedCounter')
    const out = new WindowedCounter(windows)
    const newest = r.varint('newest unit') - 1
    out.#newest = newest
    if (kind === KIND_SPARSE) {
      const countAt = r.offset
      const n = r.varint('pair count')
      if (n * 9 > r.remaining) r.fail(`truncated: ${n} pairs in ${r.remaining} bytes`, countAt)
      if (n > 0 && newest < 0) r.fail('pairs without a newest time', countAt)
      const list = doubles(2 * n)
      const seen = new Set<number>()
      for (let i = 0; i < n; i++) {
        const at = r.offset
        const age = r.varint('age')
        if (age > newest) r.fail(`age ${age} before time 0`, at)
        if (seen.has(age)) r.fail(`unit ${newest - age} appears twice`, at)
        seen.add(age)
        list[2 * i] = newest - age
        list[2 * i + 1] = r.count('count')
      }
      r.end()
      if (n === 1 && list[0] === newest) out.#only = list[1] as number
      else if (n > 0) {
        out.#list = list
        out.#n = n
      }
      if (n > windows.counterPairs) {
        out.#purge()
        if (out.#n > windows.counterPairs) out.#promote()
      }
      return out
    }
    const dense = new Float64Array(windows.counterLength)
    for (let i = 0; i < windows.specs.length; i++) {
      const at = r.offset
      const off = windows.counterOffsets[i] as number
      const buckets = (windows.specs[i] as WindowSpec).buckets
      const head = r.varint('ring head') - 1
      if (head > Math.floor(newest / (windows.bucketUnits[i] as number))) {
        r.fail(`ring ${i} head ${head} is past the newest time`, at)
      }
      dense[off] = head
      let total = 0
      for (let k = 0; k < buckets; k++) {
        const c = r.count('bucket count')
        const b = head - k
        if (b < 0) {
          if (c !== 0) r.fail(`count in bucket ${b}, before time 0`, r.offset - 8)
          continue
        }
        dense[off + 2 + (b % buckets)] = c
        total += c
      }
      dense[off + 1] = total
    }
    r.end()
    out.#dense = dense
    return out
  }
}

// Moves a counter ring's head forward to bucket b, zeroing (and subtracting) the buckets that
// fall out of the window; at most `buckets` slots are touched however far time jumped.
function advance(dense: Float64Array, off: number, buckets: number, b: number): void {
  const head = dense[off] as number
  const steps = b - head < buckets ? b - head : buckets
  let total = dense[off + 1] as number
  for (let k = 1; k <= steps; k++) {
    const s = off + 2 + ((head + k) % buckets)
    total -= dense[s] as number
    dense[s] = 0
  }
  dense[off] = b
  dense[off + 1] = total
}
