import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { digestHex } from '../../src/core/index.ts'

/** The plain formatting digestHex must agree with. */
const plain = (d: number): string => d.toString(16).padStart(14, '0')

describe('digestHex', () => {
  it('writes any digest as its 14 hex digits', () => {
    for (const d of [0, 1, 15, 16, 2 ** 28 - 1, 2 ** 28, 2 ** 28 + 1, 2 ** 52, 2 ** 53 - 1])
      assert.equal(digestHex(d), plain(d), String(d))
    fc.assert(
      fc.property(fc.maxSafeNat(), (d) => {
        assert.equal(digestHex(d), plain(d))
        assert.equal(digestHex(d).length, 14)
      }),
      { numRuns: 2000 },
    )
    // Not a digest: formatted as before rather than wrongly.
    for (const d of [-1, 0.5, 2 ** 53, 2 ** 60]) assert.equal(digestHex(d), plain(d), String(d))
  })
})
