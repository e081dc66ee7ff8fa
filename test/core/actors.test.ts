import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ActorGraph } from '../../src/core/index.ts'

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
