import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { ActorGraph, createEngine, KIND, WEAK_DEVICE_PREFIX } from '../../src/core/index.ts'
import { event, policy, T0 } from './support.ts'

describe('ActorGraph', () => {
  it('links an account to the addresses it was used from', () => {
    const g = new ActorGraph()
    for (let i = 0; i < 3; i++) g.observe([`ip:203.0.113.${i}`, 'account:a1'])
    const actor = g.actorOf('ip:203.0.113.0')
    assert.equal(actor.id, 'account:a1')
    assert.deepEqual(actor.linked.map((l) => l.principal).toSorted(), [
      'account:a1',
      'ip:203.0.113.1',
      'ip:203.0.113.2',
    ])
    assert.equal(
      actor.linked.find((l) => l.principal === 'account:a1')?.note,
      'account:a1 was used from ip:203.0.113.0',
    )
  })

  it('does not link accounts through a shared NAT address', () => {
    const g = new ActorGraph({ sharedAfter: 4 })
    for (let i = 0; i < 10; i++) g.observe(['ip:192.0.2.1', `account:u${i}`])
    assert.equal(g.isShared('ip:192.0.2.1'), true)
    assert.deepEqual(g.actorOf('account:u3').linked, [])
    assert.deepEqual(g.actorOf('ip:192.0.2.1').linked, [])
  })

  it('links the accounts a headless browser drives from one device', () => {
    const g = new ActorGraph()
    for (let i = 0; i < 20; i++) g.observe([`ip:198.51.100.${i}`, 'device:d1', `account:m${i}`])
    const actor = g.actorOf('account:m0')
    const reached = new Set(actor.linked.map((l) => l.principal))
    assert.ok(reached.has('device:d1'))
    assert.ok(reached.has('account:m19'))
  })

  it("never links through a weak device (a log's user agent), from the first request on", () => {
    const g = new ActorGraph()
    const ua = `${WEAK_DEVICE_PREFIX}0a1b2c3d4e5f60`
    // a farm account and a buyer with the same browser build, one request each
    g.observe(['ip:198.51.100.1', ua, 'account:farm'])
    g.observe(['ip:192.0.2.7', ua, 'account:buyer'])
    const farm = g.actorOf('account:farm')
    assert.deepEqual(
      farm.linked.map((l) => [l.principal, l.via, l.relation]),
      [['ip:198.51.100.1', 'account:farm', 'used-from']],
    )
    assert.deepEqual(g.actorOf(ua).linked, [])
    assert.equal(g.isShared(ua), false, 'not in the graph at all')
    // holdsLinks agrees: nothing left to link for the farm account on the same request
    const kinds = [KIND.ip, KIND.device, KIND.account]
    assert.equal(g.holdsLinks(['ip:198.51.100.1', ua, 'account:farm'], kinds, 2), true)
  })

  it('says through which identity and how each linked identity was reached', () => {
    const g = new ActorGraph()
    g.observe(['ip:203.0.113.1', 'device:d1', 'account:a'])
    g.observe(['ip:203.0.113.2', 'device:d1', 'account:b'])
    const byPrincipal = new Map(g.actorOf('account:a').linked.map((l) => [l.principal, l]))
    assert.deepEqual(
      [...byPrincipal.values()].map((l) => [l.principal, l.via, l.relation]),
      [
        ['ip:203.0.113.1', 'account:a', 'used-from'],
        ['device:d1', 'account:a', 'used-from'],
        ['account:b', 'device:d1', 'used-from'],
        ['ip:203.0.113.2', 'account:b', 'used-from'],
      ],
    )
    assert.equal(byPrincipal.get('account:b')?.note, 'account:b was used from device:d1')
  })

  it('never links through net: principals', () => {
    const g = new ActorGraph()
    g.observe(['net:198.51.100.0/24', 'account:a'])
    g.observe(['net:198.51.100.0/24', 'account:b'])
    assert.deepEqual(g.actorOf('account:a').linked, [])
  })

  it('stays within its node cap, forgetting the least recently linked', () => {
    const g = new ActorGraph({ maxNodes: 100 })
    for (let i = 0; i < 1000; i++) g.observe([`ip:10.0.${i >> 8}.${i & 255}`, `account:x${i}`])
    assert.ok(g.size <= 100)
    assert.ok(g.forgotten >= 1900)
    assert.equal(g.actorOf('account:x999').linked.length, 1)
    assert.deepEqual(g.actorOf('account:x0').linked, [])
  })

  it('bounds the partners remembered per identity', () => {
    const g = new ActorGraph({ maxLinks: 3, maxNodes: 1000 })
    for (let i = 0; i < 50; i++) g.observe([`ip:10.1.0.${i}`, 'key:partner'])
    assert.ok(g.actorOf('key:partner').linked.length <= 3)
  })
})

describe('engine actor linking', () => {
  // The engine skips linking for an owner whose request carries the same identities as the last
  // one it was linked with (engine.ts link()): the graph must end up exactly as if every request
  // had been linked, including when links roll over (maxLinks) and identities are forgotten
  // (maxNodes).
  it('builds the same graph as linking every request', () => {
    const identity = fc.record({
      ip: fc.integer({ min: 0, max: 15 }),
      session: fc.option(fc.integer({ min: 0, max: 9 })),
      device: fc.option(fc.integer({ min: 0, max: 2 })),
      account: fc.option(fc.integer({ min: 0, max: 3 })),
      key: fc.option(fc.integer({ min: 0, max: 1 })),
    })
    fc.assert(
      fc.property(
        // Visitors with fixed identities, and the order of their requests (repeats are the case
        // the engine skips).
        fc.array(identity, { minLength: 1, maxLength: 14 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 150 }),
        fc.constantFrom(16, 200_000),
        fc.integer({ min: 1, max: 4 }),
        (visitors, order, maxNodes, maxLinks) => {
          const engine = createEngine({ policy: policy({ actors: { maxNodes, maxLinks } }) })
          const reference = new ActorGraph({ maxNodes, maxLinks })
          const universe = new Set<string>()
          order.forEach((v, i) => {
            const r = visitors[v % visitors.length]!
            const principals = [`ip:192.0.2.${r.ip}`, `net:192.0.2.0/24`]
            if (r.session !== null) principals.push(`session:s${r.session}`)
            if (r.device !== null) principals.push(`device:d${r.device}`)
            if (r.account !== null) principals.push(`account:a${r.account}`)
            if (r.key !== null) principals.push(`key:k${r.key}`)
            for (const p of principals) universe.add(p)
            // A fresh array per request, as a feeder builds it.
            engine.observe(event({ timeMs: T0 + i * 1000, principals: [...principals] }))
            reference.observe(principals)
          })
          assert.equal(engine.actors.size, reference.size)
          assert.equal(engine.actors.forgotten, reference.forgotten)
          for (const p of universe) assert.deepEqual(engine.actors.actorOf(p), reference.actorOf(p))
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('engine actor linking after the graph forgets', () => {
  it('links an owner again when its identities were forgotten meanwhile', () => {
    const engine = createEngine({ policy: policy({ actors: { maxNodes: 16 } }) })
    const reference = new ActorGraph({ maxNodes: 16 })
    const requests = [['ip:192.0.2.1', 'session:a']]
    for (let i = 0; i < 20; i++) requests.push([`ip:198.51.100.${i}`, `session:b${i}`])
    requests.push(['ip:192.0.2.1', 'session:a'])
    requests.forEach((principals, i) => {
      engine.observe(event({ timeMs: T0 + i * 1000, principals: [...principals] }))
      reference.observe(principals)
    })
    assert.deepEqual(engine.actors.actorOf('session:a'), reference.actorOf('session:a'))
    assert.deepEqual(engine.actors.actorOf('session:a').linked.length, 1)
  })
})
