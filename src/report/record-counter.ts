/**
 * Distinct records served to one identity, overall and per field class, for reports. Exact up to
 * {@link EXACT_LIMIT} records (most identities: a shopper sees a few dozen), then a HyperLogLog
 * per field class (4,096 registers, ~1.6% error) so a harvester with millions of records costs
 * tens of kilobytes, not hundreds of megabytes.
 */
import { FIELD_CLASSES, type Digest, type FieldClass, type FieldMask } from '../core/index.ts'

/** Records counted exactly before switching to sketches. */
export const EXACT_LIMIT = 2048
const P = 12
const M = 1 << P
const CLASSES = FIELD_CLASSES.length
// index 0..8: per class; index 9: any class
const ALL = CLASSES

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

/** A mergeable distinct-record counter (exact, then sketched). */
export class RecordCounter {
  #exact: Map<Digest, FieldMask> | undefined = new Map()
  #sketches: (Uint8Array | undefined)[] | undefined

  /** Counts one record served with the given field classes. */
  add(subject: Digest, fields: FieldMask): void {
    const exact = this.#exact
    if (exact !== undefined) {
      const prior = exact.get(subject)
      if (prior === undefined || (prior | fields) !== prior)
        exact.set(subject, (prior ?? 0) | fields)
      if (exact.size > EXACT_LIMIT) this.#promote()
      return
    }
    this.#addSketch(subject, fields)
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

  #promote(): void {
    const exact = this.#exact as Map<Digest, FieldMask>
    this.#exact = undefined
    this.#sketches = Array.from<Uint8Array | undefined>({ length: CLASSES + 1 })
    this.#sketches[ALL] = new Uint8Array(M)
    for (const [s, f] of exact) this.#addSketch(s, f)
  }

  /** Adds everything `other` counted (union). */
  merge(other: RecordCounter): void {
    if (other.#exact !== undefined) {
      for (const [s, f] of other.#exact) this.add(s, f)
      return
    }
    if (this.#exact !== undefined) this.#promote()
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
    if (this.#exact !== undefined) return this.#exact.size
    return estimate((this.#sketches as Uint8Array[])[ALL] as Uint8Array)
  }

  /** Whether the count is exact. */
  get exact(): boolean {
    return this.#exact !== undefined
  }

  /** Distinct records per field class (classes never served are left out). */
  byField(): Partial<Record<FieldClass, number>> {
    const out: Partial<Record<FieldClass, number>> = {}
    if (this.#exact !== undefined) {
      for (const f of this.#exact.values())
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
}
