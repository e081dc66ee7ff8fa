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
import { assembleSipHash } from '../../scripts/assemble-siphash.ts'

const SECRET = 'a-test-secret-of-sufficient-length'

describe('SipHash-2-4 in WebAssembly', () => {
  it('is the committed binary of its source (npm run build:wasm rebuilds it)', async () => {
    const assembled = await assembleSipHash()
    assert.equal(Buffer.from(assembled).toString('base64'), SIPHASH_WASM_BASE64)
  })

  it('digests a message that fills its page, to the last byte', () => {
    const msg = Uint8Array.from({ length: WASM_MESSAGE_BYTES }, (_, i) => (i * 31 + 7) & 255)
    const out = new Uint32Array(2)
    const key = sipKey(Uint8Array.from({ length: 16 }, (_, i) => i))
    const wasm = wasmSipHash(key)
    assert.ok(wasm !== undefined, 'this runtime has WebAssembly')
    for (const length of [WASM_MESSAGE_BYTES, WASM_MESSAGE_BYTES - 1, WASM_MESSAGE_BYTES - 7]) {
      sipHash24(key, msg, length, out)
      wasm.memory.set(msg.subarray(0, length))
      assert.equal(wasm.digest(length), out[0]! * 0x20_0000 + (out[1]! >>> 11), `length ${length}`)
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
