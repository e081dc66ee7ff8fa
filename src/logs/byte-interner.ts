/**
 * Interns values by the bytes they come from: the same address, user agent or method text in a
 * buffer maps to one cached value without decoding a string first. A log of 10 million lines
 * holds a few hundred thousand distinct addresses and a few thousand user agents, so after
 * warm-up nearly every lookup is a hash of a few bytes and one `memcmp`.
 *
 * Bounded: when `capacity` entries are held the table is cleared (values are cheap to rebuild;
 * an LRU's bookkeeping per hit would cost more than the rare rebuild).
 */
export class ByteInterner<T> {
  readonly #make: (buf: Uint8Array, start: number, end: number) => T
  readonly #capacity: number
  #mask: number
  #keys: (Buffer | undefined)[]
  #values: (T | undefined)[]
  #size = 0

  /**
   * @param make builds the value for bytes not seen yet
   * @param capacity entries kept before the table is cleared @default 262144
   */
  constructor(make: (buf: Uint8Array, start: number, end: number) => T, capacity = 262_144) {
    this.#make = make
    this.#capacity = capacity
    const slots = 1 << Math.ceil(Math.log2(Math.min(capacity, 4096) * 2))
    this.#mask = slots - 1
    this.#keys = Array.from<Buffer | undefined>({ length: slots })
    this.#values = Array.from<T | undefined>({ length: slots })
  }

  /** Number of distinct keys held. */
  get size(): number {
    return this.#size
  }

  /** The value for `buf[start, end)`, built on first sight. */
  get(buf: Uint8Array, start: number, end: number): T {
    const len = end - start
    // Sampled hash: length, up to 16 bytes spread over the key and the last 8 bytes; every
    // candidate is confirmed with a full compare, so sampling only costs collisions.
    let h = Math.imul(len, 0x9e3779b1) | 0
    const step = len > 16 ? (len >>> 4) | 0 : 1
    for (let i = start; i < end; i += step) h = Math.imul(h ^ (buf[i] as number), 0x01000193)
    for (let i = end > start + 8 ? end - 8 : start; i < end; i++)
      h = Math.imul(h ^ (buf[i] as number), 0x01000193)
    h ^= h >>> 15
    const keys = this.#keys
    const mask = this.#mask
    let slot = h & mask
    for (;;) {
      const k = keys[slot]
      if (k === undefined) break
      if (k.length === len && same(k, buf, start, len)) return this.#values[slot] as T
      slot = (slot + 1) & mask
    }
    const value = this.#make(buf, start, end)
    if (this.#size >= this.#capacity) {
      this.clear()
      slot = h & this.#mask
    } else if ((this.#size + 1) * 2 > mask + 1) {
      this.#grow()
      slot = h & this.#mask
      while (this.#keys[slot] !== undefined) slot = (slot + 1) & this.#mask
    }
    this.#keys[slot] = Buffer.from(buf.subarray(start, end))
    this.#values[slot] = value
    this.#size++
    return value
  }

  clear(): void {
    this.#keys.fill(undefined)
    this.#values.fill(undefined)
    this.#size = 0
  }

  #grow(): void {
    const oldKeys = this.#keys
    const oldValues = this.#values
    const slots = oldKeys.length * 2
    this.#mask = slots - 1
    this.#keys = Array.from<Buffer | undefined>({ length: slots })
    this.#values = Array.from<T | undefined>({ length: slots })
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i]
      if (k === undefined) continue
      let slot = this.#hash(k) & this.#mask
      while (this.#keys[slot] !== undefined) slot = (slot + 1) & this.#mask
      this.#keys[slot] = k
      this.#values[slot] = oldValues[i]
    }
  }

  #hash(k: Buffer): number {
    const len = k.length
    let h = Math.imul(len, 0x9e3779b1) | 0
    const step = len > 16 ? (len >>> 4) | 0 : 1
    for (let i = 0; i < len; i += step) h = Math.imul(h ^ (k[i] as number), 0x01000193)
    for (let i = len > 8 ? len - 8 : 0; i < len; i++)
      h = Math.imul(h ^ (k[i] as number), 0x01000193)
    return h ^ (h >>> 15)
  }
}

/** Byte equality; a loop beats the native compare's argument checks on short keys. */
function same(k: Buffer, buf: Uint8Array, start: number, len: number): boolean {
  if (len > 48) return k.compare(buf, start, start + len) === 0
  for (let i = 0; i < len; i++) if (k[i] !== buf[start + i]) return false
  return true
}
