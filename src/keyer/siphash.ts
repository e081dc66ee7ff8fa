/**
 * SipHash-2-4 (Aumasson & Bernstein, 2012) in plain JavaScript on 32-bit halves: a keyed PRF with
 * a 128-bit key and a 64-bit output, built for short inputs (hash-table keys), which is exactly
 * what a subject like `user:12345` is. JavaScript has no fast 64-bit integers (BigInt allocates),
 * so each 64-bit word is a (hi, lo) pair of uint32 held in locals.
 */

/** Initial state constants "somepseudorandomlygeneratedbytes" as (hi, lo) halves. */
const C0H = 0x736f6d65
const C0L = 0x70736575
const C1H = 0x646f7261
const C1L = 0x6e646f6d
const C2H = 0x6c796765
const C2L = 0x6e657261
const C3H = 0x74656462
const C3L = 0x79746573

/** A SipHash-2-4 key as four little-endian uint32 words: k0 = (k0lo, k0hi), k1 = (k1lo, k1hi). */
export interface SipKey {
  readonly k0lo: number
  readonly k0hi: number
  readonly k1lo: number
  readonly k1hi: number
}

/** Reads a 16-byte key. */
export function sipKey(key: Uint8Array): SipKey {
  if (key.length !== 16) throw new RangeError(`SipHash key must be 16 bytes, got ${key.length}`)
  const word = (i: number): number =>
    ((key[i] as number) |
      ((key[i + 1] as number) << 8) |
      ((key[i + 2] as number) << 16) |
      ((key[i + 3] as number) << 24)) >>>
    0
  return { k0lo: word(0), k0hi: word(4), k1lo: word(8), k1hi: word(12) }
}

/**
 * SipHash-2-4 of `length` bytes of `data`, written into `out` as [hi, lo] uint32 halves of the
 * 64-bit result (the value the reference implementation returns as a little-endian u64).
 */
export function sipHash24(key: SipKey, data: Uint8Array, length: number, out: Uint32Array): void {
  let v0h = (key.k0hi ^ C0H) >>> 0
  let v0l = (key.k0lo ^ C0L) >>> 0
  let v1h = (key.k1hi ^ C1H) >>> 0
  let v1l = (key.k1lo ^ C1L) >>> 0
  let v2h = (key.k0hi ^ C2H) >>> 0
  let v2l = (key.k0lo ^ C2L) >>> 0
  let v3h = (key.k1hi ^ C3H) >>> 0
  let v3l = (key.k1lo ^ C3L) >>> 0
  let t = 0
  let mh = 0
  let ml = 0

  const end = length - (length % 8)
  for (let i = 0; i <= end; i += 8) {
    if (i < end) {
      ml =
        ((data[i] as number) |
          ((data[i + 1] as number) << 8) |
          ((data[i + 2] as number) << 16) |
          ((data[i + 3] as number) << 24)) >>>
        0
      mh =
        ((data[i + 4] as number) |
          ((data[i + 5] as number) << 8) |
          ((data[i + 6] as number) << 16) |
          ((data[i + 7] as number) << 24)) >>>
        0
    } else {
      // Last block: the remaining 0-7 bytes, and the length mod 256 in the top byte.
      ml = 0
      mh = (length & 0xff) << 24
      const rest = length - end
      for (let j = 0; j < rest; j++) {
        const b = data[end + j] as number
        if (j < 4) ml |= b << (8 * j)
        else mh |= b << (8 * (j - 4))
      }
      ml >>>= 0
      mh >>>= 0
    }
    v3h = (v3h ^ mh) >>> 0
    v3l = (v3l ^ ml) >>> 0
    for (let r = 0; r < 2; r++) {
      // SipRound, unrolled on halves. add: lo first, carry into hi.
      t = (v0l + v1l) >>> 0
      v0h = (v0h + v1h + (t < v0l ? 1 : 0)) >>> 0
      v0l = t
      t = v1h
      v1h = ((v1h << 13) | (v1l >>> 19)) >>> 0
      v1l = ((v1l << 13) | (t >>> 19)) >>> 0
      v1h = (v1h ^ v0h) >>> 0
      v1l = (v1l ^ v0l) >>> 0
      t = v0h
      v0h = v0l
      v0l = t
      t = (v2l + v3l) >>> 0
      v2h = (v2h + v3h + (t < v2l ? 1 : 0)) >>> 0
      v2l = t
      t = v3h
      v3h = ((v3h << 16) | (v3l >>> 16)) >>> 0
      v3l = ((v3l << 16) | (t >>> 16)) >>> 0
      v3h = (v3h ^ v2h) >>> 0
      v3l = (v3l ^ v2l) >>> 0
      t = (v0l + v3l) >>> 0
      v0h = (v0h + v3h + (t < v0l ? 1 : 0)) >>> 0
      v0l = t
      t = v3h
      v3h = ((v3h << 21) | (v3l >>> 11)) >>> 0
      v3l = ((v3l << 21) | (t >>> 11)) >>> 0
      v3h = (v3h ^ v0h) >>> 0
      v3l = (v3l ^ v0l) >>> 0
      t = (v2l + v1l) >>> 0
      v2h = (v2h + v1h + (t < v2l ? 1 : 0)) >>> 0
      v2l = t
      t = v1h
      v1h = ((v1h << 17) | (v1l >>> 15)) >>> 0
      v1l = ((v1l << 17) | (t >>> 15)) >>> 0
      v1h = (v1h ^ v2h) >>> 0
      v1l = (v1l ^ v2l) >>> 0
      t = v2h
      v2h = v2l
      v2l = t
    }
    v0h = (v0h ^ mh) >>> 0
    v0l = (v0l ^ ml) >>> 0
  }

  v2l = (v2l ^ 0xff) >>> 0
  for (let r = 0; r < 4; r++) {
    t = (v0l + v1l) >>> 0
    v0h = (v0h + v1h + (t < v0l ? 1 : 0)) >>> 0
    v0l = t
    t = v1h
    v1h = ((v1h << 13) | (v1l >>> 19)) >>> 0
    v1l = ((v1l << 13) | (t >>> 19)) >>> 0
    v1h = (v1h ^ v0h) >>> 0
    v1l = (v1l ^ v0l) >>> 0
    t = v0h
    v0h = v0l
    v0l = t
    t = (v2l + v3l) >>> 0
    v2h = (v2h + v3h + (t < v2l ? 1 : 0)) >>> 0
    v2l = t
    t = v3h
    v3h = ((v3h << 16) | (v3l >>> 16)) >>> 0
    v3l = ((v3l << 16) | (t >>> 16)) >>> 0
    v3h = (v3h ^ v2h) >>> 0
    v3l = (v3l ^ v2l) >>> 0
    t = (v0l + v3l) >>> 0
    v0h = (v0h + v3h + (t < v0l ? 1 : 0)) >>> 0
    v0l = t
    t = v3h
    v3h = ((v3h << 21) | (v3l >>> 11)) >>> 0
    v3l = ((v3l << 21) | (t >>> 11)) >>> 0
    v3h = (v3h ^ v0h) >>> 0
    v3l = (v3l ^ v0l) >>> 0
    t = (v2l + v1l) >>> 0
    v2h = (v2h + v1h + (t < v2l ? 1 : 0)) >>> 0
    v2l = t
    t = v1h
    v1h = ((v1h << 17) | (v1l >>> 15)) >>> 0
    v1l = ((v1l << 17) | (t >>> 15)) >>> 0
    v1h = (v1h ^ v2h) >>> 0
    v1l = (v1l ^ v2l) >>> 0
    t = v2h
    v2h = v2l
    v2l = t
  }
  out[0] = (v0h ^ v1h ^ v2h ^ v3h) >>> 0
  out[1] = (v0l ^ v1l ^ v2l ^ v3l) >>> 0
}
