import { HarvestGuardError } from '../errors.ts'

/** Code of a serialised sketch that cannot be decoded. */
export const SKETCH_CORRUPT = 'HG_SKETCH_CORRUPT'
/** Code of two sketches (or a sketch and its Windows) that do not fit together. */
export const SKETCH_MISMATCH = 'HG_SKETCH_MISMATCH'

const MAX_SAFE = 2 ** 53
// Scratch for doubles, written little-endian whatever the platform's byte order.
const F64_BYTES = new Uint8Array(8)
const F64 = new DataView(F64_BYTES.buffer)

/**
 * Growable byte buffer for serialising sketches. Not on the hot path (snapshots and fleet sync),
 * so clarity wins over speed here.
 */
export class ByteWriter {
  #buf: Uint8Array
  #len = 0

  constructor(capacity = 64) {
    this.#buf = new Uint8Array(Math.max(16, capacity))
  }

  #ensure(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return
    let cap = this.#buf.length * 2
    while (cap < this.#len + extra) cap *= 2
    const next = new Uint8Array(cap)
    next.set(this.#buf.subarray(0, this.#len))
    this.#buf = next
  }

  byte(value: number): void {
    this.#ensure(1)
    this.#buf[this.#len++] = value & 0xff
  }

  /** Unsigned LEB128 of a non-negative safe integer (up to 8 bytes for 53 bits). */
  varint(value: number): void {
    this.#ensure(8)
    let v = value
    while (v >= 128) {
      this.#buf[this.#len++] = (v % 128) | 128
      v = Math.floor(v / 128)
    }
    this.#buf[this.#len++] = v
  }

  /** IEEE-754 double, little-endian. */
  f64(value: number): void {
    this.#ensure(8)
    F64.setFloat64(0, value, true)
    this.#buf.set(F64_BYTES, this.#len)
    this.#len += 8
  }

  bytes(value: Uint8Array): void {
    this.#ensure(value.length)
    this.#buf.set(value, this.#len)
    this.#len += value.length
  }

  /** Appends `n` bytes and returns them, to be filled in place (no scratch array to copy). */
  span(n: number): Uint8Array {
    this.#ensure(n)
    const at = this.#len
    this.#len += n
    return this.#buf.subarray(at, at + n)
  }

  finish(): Uint8Array {
    // a buffer sized well up front is handed out as is (a view of it), not copied
    const len = this.#len
    return len >= this.#buf.length - (this.#buf.length >>> 2)
      ? this.#buf.subarray(0, len)
      : this.#buf.slice(0, len)
  }
}

/**
 * Bounds-checked reader: every malformed input becomes a HarvestGuardError HG_SKETCH_CORRUPT
 * naming what was being read and at which offset, never a RangeError or a wrong value.
 */
export class ByteReader {
  readonly #buf: Uint8Array
  readonly #what: string
  #pos = 0

  constructor(buf: unknown, what: string) {
    if (!(buf instanceof Uint8Array)) {
      throw new HarvestGuardError(SKETCH_CORRUPT, `${what}: expected a Uint8Array`)
    }
    this.#buf = buf
    this.#what = what
  }

  get offset(): number {
    return this.#pos
  }

  get remaining(): number {
    return this.#buf.length - this.#pos
  }

  fail(message: string, at = this.#pos): never {
    throw new HarvestGuardError(SKETCH_CORRUPT, `${this.#what} at byte ${at}: ${message}`)
  }

  byte(field: string): number {
    if (this.#pos >= this.#buf.length) this.fail(`truncated before ${field}`)
    return this.#buf[this.#pos++] as number
  }

  varint(field: string): number {
    const start = this.#pos
    let value = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      const b = this.byte(field)
      value += (b & 127) * scale
      if (b < 128) {
        if (value >= MAX_SAFE) this.fail(`${field} exceeds 2^53`, start)
        return value
      }
      scale *= 128
    }
    return this.fail(`${field} is longer than 8 bytes`, start)
  }

  /** A finite non-negative double (counts). */
  count(field: string): number {
    const at = this.#pos
    F64_BYTES.set(this.bytes(8, field))
    const value = F64.getFloat64(0, true)
    if (!(value >= 0 && value < Infinity)) this.fail(`${field} is not a finite count`, at)
    return value
  }

  bytes(length: number, field: string): Uint8Array {
    if (length > this.remaining) this.fail(`truncated inside ${field} (needs ${length} bytes)`)
    const out = this.#buf.subarray(this.#pos, this.#pos + length)
    this.#pos += length
    return out
  }

  end(): void {
    if (this.#pos !== this.#buf.length) this.fail(`${this.remaining} trailing bytes`)
  }
}

/**
 * A number[] of exactly `length` slots, filled with NaN. `new Array(n)` reserves exactly n slots,
 * where growth by push would add 16 spare ones: for idle sketches that slack is most of their
 * memory. Filling with a non-integer (in a loop: Array#fill is ~8x slower here) makes the array
 * hold unboxed doubles from the start, so every list has the same elements kind, the hot loops
 * stay monomorphic, and no SMI-to-double transition copies it again on the first digest.
 */
export function doubles(length: number): number[] {
  // eslint-disable-next-line unicorn/no-new-array -- the exact capacity is the point
  const out = new Array<number>(length)
  for (let i = 0; i < length; i++) out[i] = Number.NaN
  return out
}

/**
 * Next capacity of a full list of `n` entries: one more while tiny, then 1.5x. Idle principals
 * hold a handful of entries, so slack there is what their memory is made of; growth by half
 * keeps the copying amortised O(1) an entry for the busy ones.
 */
export function grownCapacity(n: number): number {
  return n + (n < 4 ? 1 : n >>> 1)
}
