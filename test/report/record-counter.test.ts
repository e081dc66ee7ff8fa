// The report's distinct-record counter: exact (against a Map model) up to EXACT_LIMIT, a union
// when merged, and the same after crossing a thread as plain data.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { FIELD_CLASSES } from '../../src/core/index.ts'
import { createKeyer } from '../../src/keyer/index.ts'
import { EXACT_LIMIT, IdentityTable, RecordCounter } from '../../src/report/index.ts'

// digests are non-negative integers below 2^53; small ranges force repeats and probe chains
const digest = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.maxSafeNat())
const fields = fc.integer({ min: 0, max: (1 << FIELD_CLASSES.length) - 1 })
const adds = fc.array(fc.tuple(digest, fields), { maxLength: 600 })

function model(list: readonly (readonly [number, number])[]): Map<number, number> {
  const m = new Map<number, number>()
  for (const [s, f] of list) m.set(s, (m.get(s) ?? 0) | f)
  return m
}

function byFieldOf(m: Map<number, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const f of m.values())
    FIELD_CLASSES.forEach((cls, c) => {
      if ((f & (1 << c)) !== 0) out[cls] = (out[cls] ?? 0) + 1
    })
  return out
}

function rebuilt(c: RecordCounter): RecordCounter {
  const transfer: ArrayBuffer[] = []
  const wire = structuredClone(c.toWire(transfer), { transfer })
  return RecordCounter.fromWire(wire)
}

describe('RecordCounter', () => {
  it('counts exactly, per field class, below the exact limit', () => {
    fc.assert(
      fc.property(adds, (list) => {
        const c = new RecordCounter()
        for (const [s, f] of list) c.add(s, f)
        const m = model(list)
        assert.equal(c.exact, true)
        assert.equal(c.total, m.size)
        assert.deepEqual(c.byField(), byFieldOf(m))
      }),
    )
  })

  it('merges as a union and survives the wire', () => {
    fc.assert(
      fc.property(adds, adds, (x, y) => {
        const a = new RecordCounter()
        const b = new RecordCounter()
        for (const [s, f] of x) a.add(s, f)
        for (const [s, f] of y) b.add(s, f)
        a.merge(b)
        const m = model([...x, ...y])
        assert.equal(a.total, m.size)
        assert.deepEqual(rebuilt(a).byField(), byFieldOf(m))
      }),
    )
  })

  it('switches to sketches past the limit and keeps them across the wire', () => {
    const c = new RecordCounter()
    // sketches need uniform digests, as the keyer makes them
    const keyer = createKeyer('test-secret-0123456789abcdef')
    for (let i = 0; i < EXACT_LIMIT * 8; i++) c.add(keyer.digest('user', String(i)), 3)
    assert.equal(c.exact, false)
    assert.ok(Math.abs(c.total - EXACT_LIMIT * 8) / (EXACT_LIMIT * 8) < 0.1, `${c.total}`)
    const total = c.total
    const byField = c.byField()
    const r = rebuilt(c) // moves the sketches: c is spent
    assert.equal(r.total, total)
    assert.deepEqual(r.byField(), byField)
  })
})

describe('IdentityTable', () => {
  it('groups requests by address and account, and crosses threads as plain data', () => {
    const t = new IdentityTable()
    const p1 = ['ip:192.0.2.1', 'net:192.0.2.0/24', 'account:00000000000abc', 'device:1']
    const p2 = ['ip:192.0.2.1', 'net:192.0.2.0/24', 'device:2']
    t.add(p1, 1000, [{ subject: 1, fields: 1 }])
    t.add(p1, 3000, [{ subject: 2, fields: 2 }])
    t.add(p2, 2000, [])
    const transfer: ArrayBuffer[] = []
    const back = IdentityTable.fromWire(structuredClone(t.toWire(transfer), { transfer }))
    const ids = [...back.values()].map((i) => ({
      key: i.key,
      requests: i.requests,
      span: [i.firstMs, i.lastMs],
      records: i.records.total,
      others: [...i.others].toSorted(),
    }))
    assert.deepEqual(ids, [
      {
        key: 'ip:192.0.2.1|account:00000000000abc',
        requests: 2,
        span: [1000, 3000],
        records: 2,
        others: ['device:1', 'net:192.0.2.0/24'],
      },
      {
        key: 'ip:192.0.2.1',
        requests: 1,
        span: [2000, 2000],
        records: 0,
        others: ['device:2', 'net:192.0.2.0/24'],
      },
    ])
  })
})
