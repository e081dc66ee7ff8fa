import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  ANOMALY,
  Ledger,
  SIGNAL_NAMES,
  SIGNALS,
  type Event,
  type SignalContext,
} from '../../src/core/index.ts'
import { event, F, HOUR, MINUTE, policy, rec, T0 } from './support.ts'

const p = policy()
const KEY = 3
const IP = 0

function ledgerOf(events: Event[], kind = -1): Ledger {
  const l = new Ledger()
  for (const e of events) l.record(e, p, kind)
  return l
}

function read(name: string, l: Ledger, kind = IP, timeMs?: number) {
  const s = SIGNALS.find((x) => x.name === name)!
  const ctx: SignalContext = { policy: p, kind, timeMs: timeMs ?? l.lastMs }
  return { points: s.points(l, ctx), value: s.value(l, ctx), note: s.note(l, ctx) }
}

// An address used by `n` device fingerprints in turn.
function crowd(n: number, i: number): string[] {
  return ['ip:100.64.0.1', `device:${(i % n).toString(16).padStart(12, '0')}`]
}

function crowdRecords(n: number): Ledger {
  return ledgerOf(
    Array.from({ length: 3000 }, (_, i) =>
      event({ timeMs: T0 + i * 1000, principals: crowd(n, i), exposures: [rec(i)] }),
    ),
    IP,
  )
}

function crowdWalk(n: number): Ledger {
  return ledgerOf(
    Array.from({ length: 400 }, (_, i) =>
      event({ timeMs: T0 + i, principals: crowd(n, i), ordinal: 1000 + ((i * 37) % 600) }),
    ),
    IP,
  )
}

describe('signals', () => {
  it('lists every signal once, in SIGNAL_NAMES order', () => {
    assert.deepEqual(
      SIGNALS.map((s) => s.name),
      [...SIGNAL_NAMES],
    )
    SIGNALS.forEach((s, i) => assert.equal(s.index, i))
  })

  describe('distinct-records', () => {
    it('scores distinct records against the class budget and says so', () => {
      // 600 phone records in an hour on a partner key: weighted 1,800 against 1,500.
      const l = ledgerOf(
        Array.from({ length: 600 }, (_, i) =>
          event({ timeMs: T0 + i * 5000, exposures: [rec(i, F.id | F.phone)] }),
        ),
      )
      const r = read('distinct-records', l, KEY)
      assert.ok(r.value > 1.1 && r.value < 1.3, `ratio ${r.value}`)
      assert.ok(r.points > 55 && r.points < 65)
      assert.match(r.note, /^\d[\d,]* distinct records in 1h \(weighted 1,\d{3}\), budget 1,500$/)
    })

    it('stays quiet for a service desk looking up a few customers', () => {
      const l = ledgerOf(
        Array.from({ length: 40 }, (_, i) =>
          event({ timeMs: T0 + i * 60_000, exposures: [rec(i, F.id | F.phone)] }),
        ),
      )
      assert.ok(read('distinct-records', l, KEY).points < 10)
    })

    it('never lets volume alone past the class cap', () => {
      const l = ledgerOf(
        Array.from({ length: 5000 }, (_, i) =>
          event({ timeMs: T0 + i, exposures: [rec(i, F.id | F.phone)] }),
        ),
      )
      assert.equal(read('distinct-records', l, IP).points, 35)
    })
  })

  describe('enumeration', () => {
    it('fires on a run of consecutive IDs', () => {
      const l = ledgerOf(
        Array.from({ length: 30 }, (_, i) => event({ timeMs: T0 + i, ordinal: 5000 + i })),
      )
      const r = read('enumeration', l)
      assert.ok(r.points >= 45)
      assert.match(r.note, /run of 29 consecutive IDs/)
    })

    it('fires on a shuffled sweep of a range (dense coverage)', () => {
      const ids = Array.from({ length: 300 }, (_, i) => 70_000 + ((i * 97) % 512))
      const l = ledgerOf(ids.map((id, i) => event({ timeMs: T0 + i, ordinal: id })))
      const r = read('enumeration', l)
      assert.ok(r.points > 0, r.note)
      assert.match(r.note, /299 IDs packed into 3 blocks of 256/)
    })

    it('stays quiet for IDs reached through links', () => {
      const ids = [17, 90_113, 4_001_922, 17, 355_120, 77, 1_000_004, 52_001, 9, 600_600, 31_337]
      const l = ledgerOf(ids.map((id, i) => event({ timeMs: T0 + i * MINUTE, ordinal: id })))
      assert.equal(read('enumeration', l).points, 0)
    })
  })

  describe('periodicity', () => {
    it('fires on one request every 2-10 s', () => {
      let t = T0
      const l = ledgerOf(
        Array.from({ length: 100 }, (_, i) => {
          t += 2000 + ((i * 7919) % 8000)
          return event({ timeMs: t })
        }),
      )
      const r = read('periodicity', l, KEY)
      assert.ok(r.value > 0.25 && r.value < 0.5, `cv ${r.value}`)
      assert.ok(r.points > 0)
      assert.match(r.note, /^one request every \d\.\ds, gap variation 0\.\d\d over 99 gaps/)
    })

    it('stays quiet for heavy-tailed human gaps', () => {
      let t = T0
      const gaps = [800, 45_000, 3_000, 120_000, 9_000, 1_500, 300_000, 22_000, 4_000, 60_000]
      const l = ledgerOf(
        Array.from({ length: 100 }, (_, i) => {
          t += gaps[i % gaps.length]! * (1 + (i % 7) / 3)
          return event({ timeMs: t })
        }),
      )
      assert.equal(read('periodicity', l, KEY).points, 0)
    })
  })

  describe('round-the-clock', () => {
    it('fires after two days without rest', () => {
      const l = ledgerOf(
        Array.from({ length: 60 * 6 }, (_, i) => event({ timeMs: T0 + i * 10 * MINUTE })),
      )
      const r = read('round-the-clock', l, KEY)
      assert.equal(r.points, 40)
      assert.match(r.note, /active 24 of the last 24 hours/)
    })

    it('stays quiet for business hours', () => {
      const events: Event[] = []
      for (let day = 0; day < 5; day++) {
        for (let m = 0; m < 8 * 60; m += 3)
          events.push(event({ timeMs: T0 + day * 24 * HOUR + 9 * HOUR + m * MINUTE }))
      }
      assert.equal(read('round-the-clock', ledgerOf(events), KEY).points, 0)
    })
  })

  describe('no-assets and no-referer', () => {
    it('fire on bare pages without referer', () => {
      const l = ledgerOf(
        Array.from({ length: 20 }, (_, i) =>
          event({ timeMs: T0 + i, resource: 'page', referer: false }),
        ),
      )
      assert.equal(read('no-assets', l).points, 25)
      assert.equal(read('no-referer', l).points, 15)
      assert.match(read('no-assets', l).note, /20 pages with 0 asset loads \(100% bare\)/)
    })

    it('stay quiet for a browser', () => {
      const events: Event[] = []
      for (let i = 0; i < 20; i++) {
        events.push(event({ timeMs: T0 + i * 1000, resource: 'page', referer: i % 5 !== 0 }))
        for (let a = 0; a < 6; a++)
          events.push(event({ timeMs: T0 + i * 1000 + a, resource: 'asset' }))
      }
      const l = ledgerOf(events)
      assert.equal(read('no-assets', l).points, 0)
      assert.equal(read('no-referer', l).points, 0)
    })
  })

  describe('header-anomalies', () => {
    it('fires on an automation user agent', () => {
      const l = ledgerOf(
        Array.from({ length: 5 }, (_, i) =>
          event({ timeMs: T0 + i, anomalies: ANOMALY.automationAgent | ANOMALY.noAcceptLanguage }),
        ),
      )
      const r = read('header-anomalies', l)
      assert.equal(r.points, 50)
      assert.match(r.note, /automation user agent on 100%, no Accept-Language on 100% of requests/)
    })

    it('stays quiet for the odd request without Accept-Language', () => {
      const l = ledgerOf(
        Array.from({ length: 20 }, (_, i) => event({ timeMs: T0 + i, anomalies: i === 3 ? 1 : 0 })),
      )
      assert.equal(read('header-anomalies', l).points, 0)
    })
  })

  describe('error-ratio', () => {
    it('fires on guessed IDs that do not exist', () => {
      const l = ledgerOf(
        Array.from({ length: 40 }, (_, i) =>
          event({ timeMs: T0 + i, ordinal: i * 1000, status: i % 2 === 0 ? 404 : 200 }),
        ),
      )
      const r = read('error-ratio', l)
      assert.equal(r.points, 25)
      assert.match(r.note, /20 of 40 ID lookups failed \(50%\)/)
    })

    it('stays quiet for an occasional broken link', () => {
      const l = ledgerOf(
        Array.from({ length: 40 }, (_, i) =>
          event({ timeMs: T0 + i, status: i === 7 ? 404 : 200 }),
        ),
      )
      assert.equal(read('error-ratio', l).points, 0)
    })
  })

  describe('periodicity at the default threshold', () => {
    it('scores a uniform 2-10 s sleep in full, and a partner key at throttle level', () => {
      let t = T0
      const l = ledgerOf(
        Array.from({ length: 60 }, (_, i) => {
          t += 2000 + ((i * 7919) % 8000)
          return event({ timeMs: t })
        }),
      )
      const r = read('periodicity', l, KEY)
      assert.equal(r.points, 30)
      assert.equal(p.classes[KEY]!.signalWeights[2]! * r.points, 60)
    })

    it('stays quiet for exponential (person-like) gaps', () => {
      let t = T0
      let x = 12345
      const l = ledgerOf(
        Array.from({ length: 300 }, () => {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0
          t += Math.round(-20_000 * Math.log((x + 1) / 4294967297))
          return event({ timeMs: t })
        }),
      )
      assert.equal(read('periodicity', l, KEY).points, 0)
    })
  })

  describe('periodicity of a fast loop', () => {
    it('fires on sub-millisecond gaps stamped at the millisecond, through the stalls', () => {
      // Rounded down to the millisecond like Date.now(), with a 12 ms stall every 97th request:
      // measured raw, the rounding and the stalls alone give a variation above 1.
      const steps = [0.7, 0.8, 0.9, 0.8, 1, 0.75, 1.6, 0.85]
      let t = T0
      const l = ledgerOf(
        Array.from({ length: 500 }, (_, i) => {
          const at = Math.floor(t)
          t += steps[i % steps.length]! + (i % 97 === 96 ? 12 : 0)
          return event({ timeMs: at })
        }),
      )
      const r = read('periodicity', l, KEY)
      assert.ok(r.value < 0.45, `cv ${r.value}`)
      assert.equal(r.points, 30)
      assert.match(r.note, /^one request every \d\.\d ms, gap variation 0\.\d\d over 499 gaps/)
    })

    it('stays quiet for exponential gaps of a few milliseconds', () => {
      // A Poisson stream at 5 ms: coefficient of variation 1, 0.94 after capping at 4x the mean.
      let t = T0
      let x = 777
      const l = ledgerOf(
        Array.from({ length: 500 }, () => {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0
          t += -5 * Math.log((x + 1) / 4294967297)
          return event({ timeMs: Math.floor(t) })
        }),
      )
      const r = read('periodicity', l, KEY)
      assert.ok(r.value > 0.75, `cv ${r.value}`)
      assert.equal(r.points, 0)
    })
  })

  describe('no-context', () => {
    it('fires on records taken cold from the API, without page, asset or referer', () => {
      const l = ledgerOf([event({ referer: false, exposures: [rec(1), rec(2)] })])
      const r = read('no-context', l)
      assert.equal(r.points, 45)
      assert.equal(r.value, 2)
      assert.match(r.note, /^2 records taken from the API without loading any page or asset/)
    })

    it('stays quiet once a page or an asset was loaded', () => {
      const l = ledgerOf([
        event({ resource: 'page', referer: false }),
        event({ timeMs: T0 + 1, referer: false, exposures: [rec(1), rec(2)] }),
      ])
      assert.equal(read('no-context', l).points, 0)
    })

    it('spares requests with a partner key (API clients are programs by contract)', () => {
      const l = ledgerOf([
        event({ principals: ['ip:198.51.100.7', 'key:k1'], referer: false, exposures: [rec(1)] }),
      ])
      assert.equal(read('no-context', l).points, 0)
    })

    it('is weighed 0 for the key class', () => {
      assert.equal(p.classes[KEY]!.signalWeights[8], 0)
    })
  })

  describe('header anomalies on keyed requests', () => {
    it('are not counted: a partner API client is a program by contract', () => {
      const l = ledgerOf(
        Array.from({ length: 10 }, (_, i) =>
          event({
            timeMs: T0 + i,
            principals: ['ip:198.51.100.7', 'key:k1'],
            anomalies: ANOMALY.automationAgent | ANOMALY.noAcceptLanguage,
          }),
        ),
      )
      assert.equal(read('header-anomalies', l).points, 0)
    })
  })

  describe('private-records', () => {
    const ACCOUNT = 2
    it('scores contact records of a person against its private budget', () => {
      const l = ledgerOf(
        Array.from({ length: 60 }, (_, i) =>
          event({ timeMs: T0 + i * 10_000, exposures: [rec(i, F.id | F.phone)] }),
        ),
      )
      const r = read('private-records', l, ACCOUNT)
      assert.equal(r.points, 50)
      assert.match(r.note, /^60 distinct records with contact data in 24h, budget 60$/)
    })

    it('judges a daily ration taken day after day against the 30-day budget', () => {
      // 50 contact records a day (under the daily 60) for 7 days: 350 in 30 days, budget 300.
      const events = []
      for (let day = 0; day < 7; day++)
        for (let i = 0; i < 50; i++)
          events.push(
            event({
              timeMs: T0 + day * 24 * HOUR + i * 60_000,
              exposures: [rec(day * 50 + i, F.id | F.phone)],
            }),
          )
      const l = ledgerOf(events)
      const r = read('private-records', l, ACCOUNT)
      assert.ok(r.points > 50, `points ${r.points}`)
      assert.match(r.note, /^3\d\d distinct records with contact data in 30d, budget 300$/)
      // One day of it alone stays under both budgets.
      const oneDay = ledgerOf(events.slice(0, 50))
      assert.ok(read('private-records', oneDay, ACCOUNT).points < 50)
    })

    it('ignores public records (names, comments) however many', () => {
      const l = ledgerOf(
        Array.from({ length: 2000 }, (_, i) =>
          event({ timeMs: T0 + i * 1000, exposures: [rec(i)] }),
        ),
      )
      assert.equal(read('private-records', l, ACCOUNT).points, 0)
    })

    it('does not judge classes without a private budget', () => {
      const l = ledgerOf(
        Array.from({ length: 500 }, (_, i) =>
          event({ timeMs: T0 + i * 1000, exposures: [rec(i, F.id | F.phone)] }),
        ),
      )
      assert.equal(read('private-records', l, KEY).points, 0)
      assert.equal(read('private-records', l, IP).points, 0)
    })
  })

  describe('round-the-clock on shared identities', () => {
    it('weighs nothing for ip, net and device', () => {
      for (const k of [0, 1, 5]) assert.equal(p.classes[k]!.signalWeights[3], 0)
    })
  })

  describe('addresses with a crowd behind them', () => {
    it('scale the volume budget by the device fingerprints seen', () => {
      const one = crowdRecords(1)
      const many = crowdRecords(20)
      assert.ok(Math.abs(one.crowd - 1) < 0.05, `crowd ${one.crowd}`)
      assert.ok(many.crowd >= 10, `crowd ${many.crowd}`)
      assert.ok(read('distinct-records', many).points < read('distinct-records', one).points / 5)
    })

    it('are not judged on dense ID coverage, a lone reader is', () => {
      assert.ok(read('enumeration', crowdWalk(1)).points >= 45)
      assert.equal(read('enumeration', crowdWalk(32)).points, 0)
    })
  })
})
