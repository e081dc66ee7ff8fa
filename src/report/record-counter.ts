/**
 * Distinct records served to one identity, overall and per field class, for reports. Exact up to
 * {@link EXACT_LIMIT} records (most identities: a shopper sees a few dozen) in an open-addressing
 * table of typed arrays (no Map entry and boxed number per record), then a HyperLogLog per field
 * class ({@link SKETCH_REGISTERS} registers, ~2.3% error), so an identity with millions of
 * records costs at most about twenty kilobytes: a month of logs with tens of thousands of busy
 * identities stays within the memory budget.
 */
import { FIELD_CLASSES, type Digest, type FieldClass, type FieldMask } from '../core/index.ts'

/** Records counted exactly before switching to sketches. */
export const EXACT_LIMIT = 1024
const P = 11
/** Registers of each sketch (1 byte each). */
export const SKETCH_REGISTERS = 1 << P
const M = SKETCH_REGISTERS
const CLASSES = FIELD_CLASSES.length
// index 0..8: per class; index 9: any class
const ALL = CLASSES
/** Occupied-slot bit of the exact table's masks (field masks use the low 9 bits). */
const USED = 0x8000
const FIRST_SLOTS = 16

function rankOf(d: Digest): number {
  // digests are uniform 53-bit PRF outputs: low P bits pick the register, the next 32 the rank
  const hi = Math.floor(d / M) >>> 0
  return Math.clz32(hi) + 1
}

function estimate(reg: Uint8Array): number {
  let sum = 0
  let zeros = 0
  for (let i = 0; i < M; i++) {
    const r = reg[i] as number
    sum += 2 ** -r
    if (r === 0) zeros++
  }
  const alpha = 0.7213 / (1 + 1.079 / M)
  const e = (alpha * M * M) / sum
  // small-range correction (linear counting), as in the HyperLogLog paper
  if (e <= 2.5 * M && zeros > 0) return Math.round(M * Math.log(M / zeros))
  return Math.round(e)
}

/** A {@link RecordCounter} as plain data for another thread (typed arrays are transferable). */
export type RecordCounterWire =
  | { readonly exact: { readonly subjects: Float64Array; readonly fields: Int32Array } }
  | { readonly sketches: readonly (Uint8Array | null)[] }

/** A mergeable distinct-record counter (exact, then sketched). */
export class RecordCounter {
  // exact phase: open addressing; a slot is used when its mask has USED
  #keys: Float64Array | undefined = new Float64Array(FIRST_SLOTS)
  #masks: Uint16Array = new Uint16Array(FIRST_SLOTS)
  #size = 0
  #sketches: (Uint8Array | undefined)[] | undefined

  /** Counts one record served with the given field classes. */
  add(subject: Digest, fields: FieldMask): void {
    const keys = this.#keys
    if (keys === undefined) {
      this.#addSketch(subject, fields)
      return
    }
    const masks = this.#masks
    const mask = keys.length - 1
    let slot = (subject >>> 0) & mask
    for (;;) {
      const m = masks[slot] as number
      if (m === 0) break
      if (keys[slot] === subject) {
        masks[slot] = m | fields
        return
      }
      slot = (slot + 1) & mask
    }
    keys[slot] = subject
    masks[slot] = USED | fields
    const size = ++this.#size
    if (size > EXACT_LIMIT) this.#promote()
    else if (size * 2 > keys.length) this.#grow()
  }

  #grow(): void {
    const oldKeys = this.#keys as Float64Array
    const oldMasks = this.#masks
    const slots = oldKeys.length * 2
    const keys = new Float64Array(slots)
    const masks = new Uint16Array(slots)
    const mask = slots - 1
    for (let i = 0; i < oldKeys.length; i++) {
      const m = oldMasks[i] as number
      if (m === 0) continue
      const k = oldKeys[i] as number
      let slot = (k >>> 0) & mask
      while (masks[slot] !== 0) slot = (slot + 1) & mask
      keys[slot] = k
      masks[slot] = m
    }
    this.#keys = keys
    this.#masks = masks
  }

  #addSketch(subject: Digest, fields: FieldMask): void {
    const sketches = this.#sketches as (Uint8Array | undefined)[]
    const idx = subject % M
    const rank = rankOf(subject)
    const all = sketches[ALL] as Uint8Array
    if ((all[idx] as number) < rank) all[idx] = rank
    for (let c = 0; c < CLASSES; c++) {
      if ((fields & (1 << c)) === 0) continue
      let s = sketches[c]
      if (s === undefined) sketches[c] = s = new Uint8Array(M)
      if ((s[idx] as number) < rank) s[idx] = rank
    }
  }

  /** Every exactly counted record as (subject, fields). */
  *#entries(): Generator<[Digest, FieldMask]> {
    const keys = this.#keys
    if (keys === undefined) return
    const masks = this.#masks
    for (let i = 0; i < keys.length; i++) {
      const m = masks[i] as number
      if (m !== 0) yield [keys[i] as number, m & ~USED]
    }
  }

  #promote(): void {
    const entries = [...this.#entries()]
    this.#keys = undefined
    this.#masks = new Uint16Array(0)
    this.#size = 0
    this.#sketches = Array.from<Uint8Array | undefined>({ length: CLASSES + 1 })
    this.#sketches[ALL] = new Uint8Array(M)
    for (const [s, f] of entries) this.#addSketch(s, f)
  }

  /** Adds everything `other` counted (union). */
  merge(other: RecordCounter): void {
    if (other.#keys !== undefined) {
      for (const [s, f] of other.#entries()) this.add(s, f)
      return
    }
    if (this.#keys !== undefined) this.#promote()
    const mine = this.#sketches as (Uint8Array | undefined)[]
    const theirs = other.#sketches as (Uint8Array | undefined)[]
    for (let c = 0; c <= CLASSES; c++) {
      const t = theirs[c]
      if (t === undefined) continue
      let m = mine[c]
      if (m === undefined) mine[c] = m = new Uint8Array(M)
      for (let i = 0; i < M; i++) if ((t[i] as number) > (m[i] as number)) m[i] = t[i] as number
    }
  }

  /** Distinct records (estimated once sketched). */
  get total(): number {
    if (this.#keys !== undefined) return this.#size
    return estimate((this.#sketches as Uint8Array[])[ALL] as Uint8Array)
  }

  /** Whether the count is exact. */
  get exact(): boolean {
    return this.#keys !== undefined
  }

  /** Distinct records per field class (classes never served are left out). */
  byField(): Partial<Record<FieldClass, number>> {
    const out: Partial<Record<FieldClass, number>> = {}
    if (this.#keys !== undefined) {
      for (const [, f] of this.#entries())
        for (let c = 0; c < CLASSES; c++) {
          if ((f & (1 << c)) === 0) continue
          const cls = FIELD_CLASSES[c] as FieldClass
          out[cls] = (out[cls] ?? 0) + 1
        }
      return out
    }
    const sketches = this.#sketches as (Uint8Array | undefined)[]
    for (let c = 0; c < CLASSES; c++) {
      const s = sketches[c]
      if (s !== undefined) out[FIELD_CLASSES[c] as FieldClass] = estimate(s)
    }
    return out
  }

  /**
   * The counter as plain data; `transfer` collects the buffers to move rather than copy (once
   * they are transferred, this counter is spent).
   */
  toWire(transfer: ArrayBuffer[]): RecordCounterWire {
    if (this.#keys !== undefined) {
      const subjects = new Float64Array(this.#size)
      const fields = new Int32Array(this.#size)
      let i = 0
      for (const [s, f] of this.#entries()) {
        subjects[i] = s
        fields[i++] = f
      }
      transfer.push(subjects.buffer, fields.buffer)
      return { exact: { subjects, fields } }
    }
    const sketches = (this.#sketches as (Uint8Array | undefined)[]).map((s) => s ?? null)
    for (const s of sketches) if (s !== null) transfer.push(s.buffer as ArrayBuffer)
    return { sketches }
  }

  /** Rebuilds a counter from {@link toWire}'s data. */
  static fromWire(wire: RecordCounterWire): RecordCounter {
    const c = new RecordCounter()
    if ('exact' in wire) {
      const { subjects, fields } = wire.exact
      for (let i = 0; i < subjects.length; i++) c.add(subjects[i] as number, fields[i] as number)
      return c
    }
    c.#keys = undefined
    c.#masks = new Uint16Array(0)
    c.#sketches = wire.sketches.map((s) => s ?? undefined)
    return c
  }
}
