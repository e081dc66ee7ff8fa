import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  SipHashKeyer,
  WASM_MESSAGE_BYTES,
  sipHash24,
  sipKey,
  wasmSipHash,
} from '../../src/keyer/index.ts'
import { SIPHASH_WASM_BASE64 } from '../../src/keyer/siphash-wasm-binary.ts'
import { assembleSipHash } from './support/assemble.ts'
import { referenceSipHash } from './support/reference.ts'

const SECRET = 'a-test-secret-of-sufficient-length'
const KEY = Uint8Array.from({ length: 16 }, (_, i) => i)

/** The wasm module's digest of `msg` under `key` (the top 53 bits). */
function wasmDigest(key: Uint8Array, msg: Uint8Array): number {
  const wasm = wasmSipHash(sipKey(key))
  assert.ok(wasm !== undefined, 'this runtime has WebAssembly')
  // Garbage past the message must not leak into the last block.
  wasm.memory.fill(0xa5)
  wasm.memory.set(msg)
  return wasm.digest(msg.length)
}

const top53 = (x: bigint): number => Number(x >> 11n)

describe('SipHash-2-4 in WebAssembly', () => {
  it('is the committed binary of its source (npm run build:wasm rebuilds it)', async () => {
    const assembled = await assembleSipHash()
    assert.equal(Buffer.from(assembled).toString('base64'), SIPHASH_WASM_BASE64)
  })

  it('matches the published test vectors', () => {
    const msg = Uint8Array.from({ length: 15 }, (_, i) => i)
    assert.equal(wasmDigest(KEY, msg), top53(0xa129ca6149be45e5n))
    assert.equal(wasmDigest(KEY, new Uint8Array(0)), top53(0x726fdb47dd0e0e31n))
  })

  it('agrees with a BigInt transcription of the paper for any key and message', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ maxLength: 70 }),
        (k, m) => {
          assert.equal(wasmDigest(k, m), top53(referenceSipHash(k, m)))
        },
      ),
      { numRuns: 500 },
    )
  })

  it('digests a message that fills its page, to the last byte', () => {
    const msg = Uint8Array.from({ length: WASM_MESSAGE_BYTES }, (_, i) => (i * 31 + 7) & 255)
    const out = new Uint32Array(2)
    for (const length of [WASM_MESSAGE_BYTES, WASM_MESSAGE_BYTES - 1, WASM_MESSAGE_BYTES - 7]) {
      sipHash24(sipKey(KEY), msg, length, out)
      assert.equal(
        wasmDigest(KEY, msg.subarray(0, length)),
        out[0]! * 0x20_0000 + (out[1]! >>> 11),
        `length ${length}`,
      )
    }
  })

  it('gives the SipHash keyer the same digests as its JavaScript path, for any text', () => {
    const wasm = new SipHashKeyer(SECRET)
    const js = new SipHashKeyer(SECRET, { wasm: false })
    assert.equal(wasm.usesWasm, true)
    assert.equal(js.usesWasm, false)
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, unit: 'binary' }).filter((s) => !s.includes('\0')),
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.string({ unit: 'grapheme-ascii', minLength: 20, maxLength: 400 }),
        ),
        (ns, v) => {
          assert.equal(wasm.digest(ns, v), js.digest(ns, v))
        },
      ),
      { numRuns: 1000 },
    )
    // Around the largest message the page takes: beyond it the keyer computes in JavaScript.
    const edge = Math.floor((WASM_MESSAGE_BYTES - 1) / 3) - 4
    for (const n of [edge - 1, edge, edge + 1, edge + 2, 40_000]) {
      const v = 'x'.repeat(n)
      assert.equal(wasm.digest('user', v), js.digest('user', v), `value of ${n} characters`)
    }
  })
})
