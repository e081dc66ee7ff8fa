import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { isHarvestGuardError, Ledger } from '../../src/core/index.ts'
import { WindowedDistinct } from '../../src/core/sketch/index.ts'
import { event, F, HOUR, MINUTE, policy, rec, T0, type EventInit } from './support.ts'

const p = policy()

/** What a fleet view must equal: peers, then own, merged into an empty ledger. */
function rebuilt(own: Ledger, peers: readonly Ledger[]): Ledger {
  const l = new Ledger()
  for (const peer of peers) l.merge(peer, p)
  l.merge(own, p)
  return l
}

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

  it('counts each weight tier as a sketch of its own would, sharing or not (fast-check)', () => {
    // A ledger whose records were all of one tier answers that tier from its all-records
    // sketch; the answers must be those of sketches fed separately, before and after the first
    // record of another tier, through bytes, and in merges.
    const masks = [F.id, F.id | F.phone, F.id | F.email, F.name | F.comment, F.phone | F.email]
    const tiers = p.tierWeights.length
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            advanceMs: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.constant(5 * HOUR)),
            records: fc.array(
              fc.record({
                subject: fc.integer({ min: 0, max: 300 }),
                mask: fc.constantFrom(...masks),
              }),
              { maxLength: 6 },
            ),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        (steps) => {
          const l = new Ledger()
          const all = new WindowedDistinct(p.windows)
          const byTier = Array.from({ length: tiers }, () => new WindowedDistinct(p.windows))
          let t = T0
          const check = (ledger: Ledger, what: string) => {
            for (let w = 0; w < p.windows.specs.length; w++) {
              let weighted = 0
              for (let k = 1; k < tiers; k++) {
                const expected = byTier[k]!.estimate(w, t)
                assert.equal(
                  ledger.tierDistinct(k, w, t),
                  expected,
                  `${what}: tier ${k} window ${w}`,
                )
                weighted += (p.tierWeights[k]! - 1) * expected
              }
              assert.equal(ledger.distinct(w, t), all.estimate(w, t), `${what}: window ${w}`)
              assert.ok(Math.abs(ledger.weighted(w, t, p) - (all.estimate(w, t) + weighted)) < 1e-9)
            }
          }
          for (const s of steps) {
            t += s.advanceMs
            l.record(
              event({ timeMs: t, exposures: s.records.map((r) => rec(r.subject, r.mask)) }),
              p,
              0,
            )
            for (const r of s.records) {
              all.add(r.subject, t)
              const k = p.tierOfMask[r.mask]!
              if (k !== 0) byTier[k]!.add(r.subject, t)
            }
            check(l, 'recorded')
          }
          check(Ledger.fromBytes(l.toBytes(), p.windows), 'through bytes')
          const merged = new Ledger()
          merged.merge(l, p)
          check(merged, 'merged')
        },
      ),
      { numRuns: 200 },
    )
  })

  describe('refreshView (a fleet view kept up to date instead of rebuilt)', () => {
    // Every reading a signal takes: getters, and the readers at each window.
    const GETTERS = Object.entries(Object.getOwnPropertyDescriptors(Ledger.prototype))
      .filter(([name, d]) => d.get !== undefined && !['flags', 'heapBytes'].includes(name))
      .map(([name]) => name)

    function readings(l: Ledger, t: number): Record<string, number> {
      const out: Record<string, number> = {}
      for (const g of GETTERS) out[g] = (l as unknown as Record<string, number>)[g]!
      for (let w = 0; w < p.windows.specs.length; w++) {
        out[`distinct ${w}`] = l.distinct(w, t)
        out[`weighted ${w}`] = l.weighted(w, t, p)
        out[`tier 1 ${w}`] = l.tierDistinct(1, w, t)
        out[`requests ${w}`] = l.requestsIn(w, t, p.windows)
      }
      return out
    }

    // One step of a guard: an event (guard 0 is own, 1 and 2 peers) or a sync round.
    const step = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          guard: fc.integer({ min: 0, max: 2 }),
          advanceMs: fc.oneof(
            fc.integer({ min: 0, max: 2000 }),
            fc.integer({ min: 0, max: 40 * MINUTE }),
            fc.constantFrom(5 * HOUR, 2 * 24 * HOUR),
          ),
          subjects: fc.array(fc.integer({ min: 0, max: 600 }), { maxLength: 12 }),
          phone: fc.boolean(),
          resource: fc.constantFrom('api', 'page', 'asset'),
          status: fc.constantFrom(200, 200, 404),
          referer: fc.boolean(),
          anomalies: fc.constantFrom(0, 0, 1, 3),
          ordinal: fc.integer({ min: -1, max: 70_000 }),
        }),
      },
      { weight: 1, arbitrary: fc.constant('sync' as const) },
    )

    it('reads as a fresh merge of own and peers after every sync round', () => {
      fc.assert(
        fc.property(fc.array(step, { minLength: 1, maxLength: 90 }), (steps) => {
          const own = new Ledger()
          const peers = [new Ledger(), new Ledger()]
          let view: Ledger | undefined
          // peers changed since the view last took their sketches
          const changed = new Set<Ledger>()
          let t = T0
          for (const s of steps) {
            if (s === 'sync') {
              if (!peers.some((l) => l.requests > 0)) continue
              if (view === undefined) {
                view = new Ledger()
                view.refreshView(own, peers, p, [...peers, own])
              } else view.refreshView(own, peers, p, changed)
              changed.clear()
              const expected = rebuilt(own, peers)
              for (const at of [t, t + 30 * MINUTE, t + 3 * 24 * HOUR]) {
                assert.deepEqual(readings(view, at), readings(expected, at))
              }
              continue
            }
            t += s.advanceMs
            const init: EventInit = {
              timeMs: t,
              exposures: s.subjects.map((x) => rec(x, s.phone ? F.id | F.phone : F.id)),
              resource: s.resource,
              status: s.status,
              referer: s.referer,
              anomalies: s.anomalies,
              ordinal: s.ordinal,
            }
            if (s.guard === 0) {
              // a guard records its own events into its ledger and into the view
              own.record(event(init), p, 0)
              view?.record(event(init), p, 0)
            } else {
              peers[s.guard - 1]!.record(event(init), p, 0)
              changed.add(peers[s.guard - 1]!)
            }
          }
        }),
        { numRuns: 150 },
      )
    })

    it('makes the next event a checkpoint, as a rebuilt view does', () => {
      const own = new Ledger()
      const peer = new Ledger()
      for (let i = 0; i < 300; i++) own.record(event({ timeMs: T0 + i, exposures: [rec(i)] }), p, 0)
      peer.record(event({ timeMs: T0, exposures: [rec(1000)] }), p, 0)
      const view = new Ledger()
      view.refreshView(own, [peer], p, [peer, own])
      assert.equal(view.record(event({ timeMs: T0 + 301 }), p, 0), true)
      own.record(event({ timeMs: T0 + 301 }), p, 0)
      assert.equal(view.record(event({ timeMs: T0 + 302 }), p, 0), false)
      peer.record(event({ timeMs: T0 + 302, exposures: [rec(1001)] }), p, 0)
      view.refreshView(own, [peer], p, [peer])
      assert.equal(view.record(event({ timeMs: T0 + 303 }), p, 0), true, 'again after a refresh')
    })

    it('takes peers decoded without their sketches for their counters', () => {
      const own = new Ledger()
      const peer = new Ledger()
      for (let i = 0; i < 100; i++) {
        own.record(event({ timeMs: T0 + i, exposures: [rec(i)] }), p, 0)
        peer.record(event({ timeMs: T0 + i, exposures: [rec(500 + i)], resource: 'page' }), p, 0)
      }
      const view = new Ledger()
      view.refreshView(own, [peer], p, [peer, own])
      const bare = Ledger.fromBytes(peer.toBytes(), p.windows, { sketches: false })
      assert.equal(bare.distinct(0, T0 + 100), 0)
      assert.equal(bare.requests, 100)
      own.record(event({ timeMs: T0 + 100 }), p, 0)
      view.record(event({ timeMs: T0 + 100 }), p, 0)
      view.refreshView(own, [bare], p, [])
      const t = T0 + 101
      assert.deepEqual(readings(view, t), readings(rebuilt(own, [peer]), t))
      assert.equal(view.requests, 201)
      assert.equal(view.pages, 100)
    })
  })
})
