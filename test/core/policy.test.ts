import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { policySchema } from '../../src/config/policy-schema.ts'
import {
  actionForScore,
  cidrContains,
  createEngine,
  FIELD_BIT,
  kindIndex,
  parseCidr,
  PRINCIPAL_KINDS,
} from '../../src/core/index.ts'
import { event, policy, rec, T0 } from './support.ts'

const dotted = (x: number) => [24, 16, 8, 0].map((s) => Math.floor(x / 2 ** s) % 256).join('.')

describe('policy', () => {
  it('compiles the defaults with a budget for every class and window', () => {
    const p = policy()
    assert.deepEqual(p.windowNames, ['1h', '24h', '30d'])
    for (const cls of p.classes) {
      assert.equal(cls.budgets.length, 3)
      for (const b of cls.budgets) assert.ok(b > 0 && b < Infinity)
    }
    // One person or one partner gets less than a whole shared subnet.
    const at = (kind: string) => p.classes[PRINCIPAL_KINDS.indexOf(kind as 'ip')]!.budgets[1]!
    assert.ok(at('account') < at('net') && at('key') < at('net') && at('ip') < at('net'))
  })

  it('weighs a record by its heaviest field class', () => {
    const p = policy()
    const tierOf = (mask: number) => p.tierWeights[p.tierOfMask[mask]!]
    assert.equal(tierOf(FIELD_BIT.id | FIELD_BIT.name), 1)
    assert.equal(tierOf(FIELD_BIT.id | FIELD_BIT.phone), 3)
    assert.equal(tierOf(FIELD_BIT.comment), 0.25)
    assert.equal(tierOf(FIELD_BIT['national-id'] | FIELD_BIT.comment), 5)
  })

  it('maps scores to actions through the thresholds', () => {
    const p = policy({
      thresholds: { observe: 10, mask: 20, throttle: 30, challenge: 40, block: 50 },
    })
    assert.equal(actionForScore(p, 0), 'allow')
    assert.equal(actionForScore(p, 10), 'observe')
    assert.equal(actionForScore(p, 29.9), 'mask')
    assert.equal(actionForScore(p, 50), 'block')
    assert.equal(actionForScore(p, 1e9), 'block')
  })

  it('applies default budgets only to the windows that exist', () => {
    const parsed = policySchema.parse({ windows: [{ name: '1h', window: '1h', buckets: 6 }] })
    assert.deepEqual(Object.keys(parsed.classes.account.budgets), ['1h'])
  })

  it('rejects a budget for a window that does not exist, naming the path', () => {
    const r = policySchema.safeParse({ classes: { key: { budgets: { '2h': 10 } } } })
    assert.equal(r.success, false)
    assert.deepEqual(r.error?.issues[0]?.path, ['classes', 'key', 'budgets', '2h'])
  })

  it('rejects thresholds that decrease', () => {
    assert.equal(policySchema.safeParse({ thresholds: { mask: 90, throttle: 60 } }).success, false)
  })

  it('allowlists ip and net principals inside configured networks, and explicit principals', () => {
    const p = policy({
      allowlist: {
        networks: ['66.249.64.0/19', '2001:4860:4801::/48'],
        principals: ['key:internal'],
      },
    })
    assert.equal(p.isAllowlisted('ip:66.249.66.1'), true)
    assert.equal(p.isAllowlisted('net:66.249.66.0/24'), true)
    assert.equal(p.isAllowlisted('ip:66.249.96.1'), false)
    assert.equal(p.isAllowlisted('net:66.249.0.0/16'), false)
    assert.equal(p.isAllowlisted('ip:2001:4860:4801:10::1'), true)
    assert.equal(p.isAllowlisted('ip:2001:4860:4802::1'), false)
    assert.equal(p.isAllowlisted('key:internal'), true)
    assert.equal(p.isAllowlisted('account:internal'), false)
  })

  it('knows the kind of a principal without slicing it', () => {
    PRINCIPAL_KINDS.forEach((k, i) => assert.equal(kindIndex(`${k}:x`), i))
    assert.equal(kindIndex('ipx:1'), -1)
    assert.equal(kindIndex(''), -1)
  })

  it('parses any string as a CIDR or rejects it, never throwing', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const c = parseCidr(s)
        if (c !== undefined) assert.ok(c.bits >= 0 && c.bits <= (c.v6 ? 128 : 32))
      }),
    )
  })

  it('contains exactly the IPv4 addresses that share the prefix', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: 32 }),
        (a, b, bits) => {
          const net = parseCidr(`${dotted(a)}/${bits}`)!
          const addr = parseCidr(dotted(b))!
          const same = Math.floor(a / 2 ** (32 - bits)) === Math.floor(b / 2 ** (32 - bits))
          assert.equal(cidrContains(net, addr), same)
        },
      ),
    )
  })

  it('re-judges a decided principal once escalation is due, so a persisting harvester escalates', () => {
    const engine = createEngine({ policy: policy() })
    const principals = ['ip:203.0.113.9']
    // Cold API reads: no-context masks at the first response.
    engine.observe(event({ principals, referer: false, exposures: [rec(1)] }))
    assert.equal(engine.decisionFor('ip:203.0.113.9', T0)?.action, 'mask')
    // Three requests, each 11 minutes apart: each is re-judged (no record step needed).
    const actions: string[] = []
    for (let i = 1; i <= 3; i++) {
      const t = T0 + i * 11 * 60_000
      engine.observe(event({ timeMs: t, principals, referer: false, exposures: [rec(1 + i)] }))
      actions.push(engine.decisionFor('ip:203.0.113.9', t)!.action)
    }
    assert.deepEqual(actions, ['throttle', 'challenge', 'block'])
  })

  it('doubles the lifetime of a decision each time its principal comes back after one lapsed', () => {
    const engine = createEngine({ policy: policy() })
    const principals = ['ip:203.0.113.10']
    const lifetimes: number[] = []
    engine.onDecision((d) => lifetimes.push((d.expiresAtMs - d.timeMs) / 60_000))
    let t = T0
    for (let i = 0; i < 3; i++) {
      engine.observe(event({ timeMs: t, principals, referer: false, exposures: [rec(i)] }))
      // Waits the decision out, then comes back.
      t = engine.decisionFor('ip:203.0.113.10', t)!.expiresAtMs + 1
    }
    // mask: 1h, then 2h, then 4h.
    assert.deepEqual(lifetimes, [60, 120, 240])
  })
})
