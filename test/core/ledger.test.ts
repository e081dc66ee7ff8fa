import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { isHarvestGuardError, Ledger } from '../../src/core/index.ts'
import { event, F, HOUR, MINUTE, policy, rec, T0 } from './support.ts'

const p = policy()

describe('Ledger', () => {
  it('counts a record once however often it is served', () => {
    const l = new Ledger()
    for (let i = 0; i < 10; i++)
      l.record(event({ timeMs: T0 + i, exposures: [rec(42), rec(43)] }), p)
    assert.equal(l.distinct(0, T0 + 10), 2)
    assert.equal(l.records, 20)
    assert.equal(l.requests, 10)
  })

  it('weighs phone records three times and comments a quarter', () => {
    const l = new Ledger()
    l.record(event({ exposures: [rec(1, F.id | F.phone), rec(2, F.id | F.phone)] }), p)
    l.record(event({ exposures: [rec(3), rec(4, F.comment), rec(5, F.comment)] }), p)
    // 2 x 3 + 1 x 1 + 2 x 0.25
    assert.equal(l.weighted(0, T0, p), 7.5)
    assert.equal(l.distinct(0, T0), 5)
  })

  it('forgets records that left a window', () => {
    const l = new Ledger()
    l.record(event({ exposures: [rec(1)] }), p)
    l.record(event({ timeMs: T0 + 3 * HOUR, exposures: [rec(2)] }), p)
    assert.equal(l.distinct(0, T0 + 3 * HOUR), 1)
    assert.equal(l.distinct(1, T0 + 3 * HOUR), 2)
  })

  it('ignores exposures with nothing in the clear', () => {
    const l = new Ledger()
    l.record(event({ exposures: [rec(1, 0)] }), p)
    assert.equal(l.distinct(0, T0), 0)
  })

  it('keeps the ratio sample recent by halving it', () => {
    const l = new Ledger()
    for (let i = 0; i < 5000; i++) l.record(event({ timeMs: T0 + i, resource: 'page' }), p)
    assert.ok(l.sample <= 4096 && l.pages === l.sample)
  })

  it('measures the rhythm of non-asset requests only', () => {
    const l = new Ledger()
    for (let i = 0; i < 50; i++) {
      l.record(event({ timeMs: T0 + i * 5000 }), p)
      l.record(event({ timeMs: T0 + i * 5000 + 30, resource: 'asset' }), p)
    }
    assert.equal(l.gaps, 49)
    assert.ok(Math.abs(l.gapMeanMs - 5000) < 1)
    assert.ok(l.gapStdMs < 1)
  })

  it('tracks hours without rest', () => {
    const l = new Ledger()
    for (let h = 0; h < 72; h++) l.record(event({ timeMs: T0 + h * HOUR + 5 * MINUTE }), p)
    assert.equal(l.activeHours, 24)
    assert.equal(l.restlessHours, 71)
    // Then an eight-hour night resets it.
    l.record(event({ timeMs: T0 + 80 * HOUR }), p)
    assert.equal(l.restlessHours, 0)
  })

  it('keeps no ID: only the low bits of the last ordinal and coarse bins', () => {
    const l = new Ledger()
    const base = 987_654_321
    for (let i = 0; i < 200; i++) l.record(event({ timeMs: T0 + i, ordinal: base + i }), p)
    assert.equal(l.maxRun, 199)
    const bytes = l.toBytes()
    const text = Buffer.from(bytes).toString('latin1')
    assert.ok(!text.includes(String(base)))
    // Neither the ID as a varint (what a careless serialiser would write).
    const varint: number[] = []
    for (let v = base + 199; v >= 128; v = Math.floor(v / 128)) varint.push((v % 128) | 128)
    assert.ok(!Buffer.from(bytes).includes(Buffer.from(varint)))
  })

  it('round-trips through bytes', () => {
    const l = new Ledger()
    for (let i = 0; i < 300; i++) {
      l.record(
        event({
          timeMs: T0 + i * 7000,
          exposures: [rec(i, F.id | F.phone)],
          ordinal: 1000 + i,
          anomalies: i % 2,
          status: i % 5 === 0 ? 404 : 200,
          resource: i % 3 === 0 ? 'page' : 'api',
        }),
        p,
      )
    }
    const back = Ledger.fromBytes(l.toBytes(), p.windows)
    // Buffer.compare, not deepEqual: a failing deepEqual on kilobytes diffs for minutes.
    assert.equal(Buffer.compare(back.toBytes(), l.toBytes()), 0)
    const t = T0 + 300 * 7000
    assert.equal(back.weighted(1, t, p), l.weighted(1, t, p))
    assert.equal(back.maxRun, l.maxRun)
    assert.equal(back.gaps, l.gaps)
    assert.equal(back.lastMs, l.lastMs)
  })

  it('merges: records by union, counters by addition', () => {
    const a = new Ledger()
    const b = new Ledger()
    for (let i = 0; i < 100; i++) a.record(event({ timeMs: T0 + i, exposures: [rec(i)] }), p)
    for (let i = 50; i < 150; i++) b.record(event({ timeMs: T0 + i, exposures: [rec(i)] }), p)
    a.merge(b, p)
    const d = a.distinct(0, T0 + 200)
    assert.ok(Math.abs(d - 150) <= 150 * 0.05, `~150 distinct, got ${d}`)
    assert.equal(a.requests, 200)
    assert.equal(a.lastMs, T0 + 149)
  })

  it('rejects corrupt bytes with a HarvestGuardError, never anything else', () => {
    const good = new Ledger()
    good.record(event({ exposures: [rec(1)] }), p)
    const bytes = good.toBytes()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(bytes.length), (noise, cut) => {
        for (const input of [
          noise,
          bytes.subarray(0, cut),
          Uint8Array.from([...bytes.subarray(0, cut), ...noise]),
        ]) {
          try {
            Ledger.fromBytes(input, p.windows)
          } catch (e) {
            assert.ok(isHarvestGuardError(e), `unexpected ${String(e)}`)
          }
        }
      }),
    )
  })
})
