// SipHash-2-4 as the paper writes it, on BigInt: the oracle of the keyer tests.

const M64 = (1n << 64n) - 1n
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & M64

const le = (b: Uint8Array, at: number, n = 8): bigint => {
  let v = 0n
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i] ?? 0)
  return v
}

/** Straight transcription of the SipHash paper on BigInt: slow, obviously right. */
export function referenceSipHash(key: Uint8Array, msg: Uint8Array): bigint {
  const k0 = le(key, 0)
  const k1 = le(key, 8)
  let v0 = k0 ^ 0x736f6d6570736575n
  let v1 = k1 ^ 0x646f72616e646f6dn
  let v2 = k0 ^ 0x6c7967656e657261n
  let v3 = k1 ^ 0x7465646279746573n
  const round = (): void => {
    v0 = (v0 + v1) & M64
    v1 = rotl(v1, 13n) ^ v0
    v0 = rotl(v0, 32n)
    v2 = (v2 + v3) & M64
    v3 = rotl(v3, 16n) ^ v2
    v0 = (v0 + v3) & M64
    v3 = rotl(v3, 21n) ^ v0
    v2 = (v2 + v1) & M64
    v1 = rotl(v1, 17n) ^ v2
    v2 = rotl(v2, 32n)
  }
  const blocks = Math.floor(msg.length / 8)
  for (let i = 0; i <= blocks; i++) {
    let m = i < blocks ? le(msg, i * 8) : le(msg, i * 8, msg.length % 8)
    if (i === blocks) m |= BigInt(msg.length & 0xff) << 56n
    v3 ^= m
    round()
    round()
    v0 ^= m
  }
  v2 ^= 0xffn
  for (let r = 0; r < 4; r++) round()
  return v0 ^ v1 ^ v2 ^ v3
}
