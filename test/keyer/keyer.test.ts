import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { HarvestGuardError } from '../../src/core/errors.ts'
import {
  HmacKeyer,
  SipHashKeyer,
  createKeyer,
  sipHash24,
  sipKey,
  wasmSipHash,
} from '../../src/keyer/index.ts'
import { referenceSipHash } from './support/reference.ts'

function sip(key: Uint8Array, msg: Uint8Array): bigint {
  const out = new Uint32Array(2)
  sipHash24(sipKey(key), msg, msg.length, out)
  return (BigInt(out[0]!) << 32n) | BigInt(out[1]!)
}

/** The WebAssembly module's digest of `msg` under `key`: the top 53 bits. */
function wasmDigest(key: Uint8Array, msg: Uint8Array): number {
  const wasm = wasmSipHash(sipKey(key))
  assert.ok(wasm !== undefined, 'this runtime has WebAssembly')
  // Garbage past the message must not leak into the last block.
  wasm.memory.fill(0xa5)
  wasm.memory.set(msg)
  return wasm.digest(msg.length)
}

const SECRET = 'a-test-secret-of-sufficient-length'
const KEY = Uint8Array.from({ length: 16 }, (_, i) => i)

// Each implementation with what it returns of the 64-bit SipHash value: JS all of it, the
// WebAssembly module the top 53 bits (what the keyer returns).
const IMPLEMENTATIONS: [
  string,
  (k: Uint8Array, m: Uint8Array) => unknown,
  (x: bigint) => unknown,
][] = [
  ['JavaScript', sip, (x) => x],
  ['WebAssembly', wasmDigest, (x) => Number(x >> 11n)],
]

describe('SipHash-2-4', () => {
  for (const [name, digest, part] of IMPLEMENTATIONS) {
    it(`${name}: matches the published test vectors`, () => {
      // Aumasson & Bernstein, appendix A: key 00..0f, message 00..0e.
      const msg = Uint8Array.from({ length: 15 }, (_, i) => i)
      assert.equal(digest(KEY, msg), part(0xa129ca6149be45e5n))
      // vectors.h, empty message: bytes 31 0e 0e dd 47 db 6f 72 (little-endian).
      assert.equal(digest(KEY, new Uint8Array(0)), part(0x726fdb47dd0e0e31n))
    })

    it(`${name}: agrees with a BigInt transcription of the paper for any key and message`, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 16, maxLength: 16 }),
          fc.uint8Array({ maxLength: 70 }),
          (k, m) => {
            assert.equal(digest(k, m), part(referenceSipHash(k, m)))
          },
        ),
        { numRuns: 500 },
      )
    })
  }
})

describe('keyers', () => {
  for (const make of [(s: string) => new SipHashKeyer(s), (s: string) => new HmacKeyer(s)]) {
    const keyer = make(SECRET)
    const name = keyer.algorithm

    it(`${name}: gives stable 53-bit digests`, () => {
      fc.assert(
        fc.property(
          fc.string({ minLength: 1 }).filter((s) => !s.includes('\0')),
          fc.string(),
          (ns, v) => {
            const d = keyer.digest(ns, v)
            assert.ok(Number.isSafeInteger(d) && d >= 0)
            assert.equal(make(SECRET).digest(ns, v), d)
          },
        ),
      )
    })

    it(`${name}: depends on the secret, the namespace and the value`, () => {
      const d = keyer.digest('user', '12345')
      assert.notEqual(make(`${SECRET}!`).digest('user', '12345'), d)
      assert.notEqual(keyer.digest('phone', '12345'), d)
      assert.notEqual(keyer.digest('user', '12346'), d)
      // The separator keeps the namespace/value boundary: no ambiguity by moving the colon.
      assert.notEqual(keyer.digest('a', 'b:c'), keyer.digest('a:b', 'c'))
    })

    it(`${name}: hashes non-ASCII text as UTF-8`, () => {
      assert.equal(keyer.digest('name', '张伟'), make(SECRET).digest('name', '张伟'))
      assert.notEqual(keyer.digest('name', '张伟'), keyer.digest('name', '张'))
      const long = 'é'.repeat(1000)
      assert.equal(keyer.digest('x', long), make(SECRET).digest('x', long))
    })

    it(`${name}: spreads sequential IDs over the whole 53-bit range`, () => {
      let high = 0
      const seen = new Set<number>()
      for (let i = 0; i < 10_000; i++) {
        const d = keyer.digest('user', String(i))
        seen.add(d)
        if (d >= 2 ** 52) high++
      }
      assert.equal(seen.size, 10_000)
      // Binomial(10000, 0.5): 4,700..5,300 is beyond 6 sigma.
      assert.ok(high > 4700 && high < 5300, String(high))
    })

    it(`${name}: refuses an empty namespace or one with NUL`, () => {
      assert.throws(() => keyer.digest('', 'x'), HarvestGuardError)
      assert.throws(() => keyer.digest('a\0b', 'x'), HarvestGuardError)
    })
  }

  it('HMAC keyer equals HMAC-SHA-256 from node:crypto, truncated to 53 bits', () => {
    const sub = createHmac('sha256', SECRET).update('harvestguard/keyer/v1').digest()
    const mac = createHmac('sha256', sub).update('user\u000012345').digest()
    const expected = Number(mac.readBigUInt64BE(0) >> 11n)
    assert.equal(new HmacKeyer(SECRET).digest('user', '12345'), expected)
  })

  it('SipHash keyer equals SipHash-2-4 keyed with the derived subkey', () => {
    const sub = createHmac('sha256', SECRET)
      .update('harvestguard/keyer/v1')
      .digest()
      .subarray(0, 16)
    const expected = Number(
      referenceSipHash(sub, new TextEncoder().encode('user\u000012345')) >> 11n,
    )
    assert.equal(new SipHashKeyer(SECRET).digest('user', '12345'), expected)
  })

  it('accepts a config Secret and refuses a short secret', () => {
    const keyer = createKeyer({ reveal: () => SECRET })
    assert.equal(keyer.algorithm, 'siphash-2-4')
    assert.equal(keyer.digest('user', '1'), new SipHashKeyer(SECRET).digest('user', '1'))
    assert.equal(createKeyer(SECRET, { algorithm: 'hmac-sha256' }).algorithm, 'hmac-sha256')
    assert.throws(
      () => createKeyer('short'),
      (e: unknown) => e instanceof HarvestGuardError && e.code === 'HG_KEYER_INVALID',
    )
  })
})
