import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { Ledger, createEngine } from '../../src/core/index.ts'
import type { Decision } from '../../src/core/index.ts'
import { RedisLedgerStore } from '../../src/stores/redis-ledger-store.ts'
import type { SyncRound } from '../../src/stores/redis-ledger-store.ts'
import type { RedisClient } from '../../src/stores/redis-fleet.ts'
import { REDIS_HOST, REDIS_PORT, requireCommand, requireService } from '../support/services.ts'
import { sparePort, startRedisCluster } from '../fleet/redis-servers.ts'
import type { RedisClusterProcesses } from '../fleet/redis-servers.ts'
import { apiEvent, defaultPolicy } from './fleet-support.ts'
import { Cluster } from 'ioredis'
import { ledgerStoreContract } from '../contracts/ledger-store.ts'

const redisSkip = await requireService('Redis', REDIS_HOST, REDIS_PORT)
const clusterSkip = requireCommand('redis-server') || requireCommand('redis-cli')
const policy = defaultPolicy()
// "within sketch error": 3 standard errors of the policy's HyperLogLog precision (1.04/sqrt(2^p))
const SKETCH_TOLERANCE = (3 * 1.04) / Math.sqrt(2 ** policy.settings.precision)
const T0 = 1_800_000_000_000

function decision(principal: string, action: Decision['action'], timeMs: number): Decision {
  return {
    principal,
    actor: principal,
    action,
    score: 80,
    readings: [],
    linked: [],
    timeMs,
    expiresAtMs: timeMs + 600_000,
    shadow: false,
  }
}

// The contract is about local behaviour (judging never waits on Redis); it runs inside each
// deployment's suite below, so the Cluster gets it too. Stores are closed before their client.
const contractStores: RedisLedgerStore[] = []

/** The behaviour every Redis deployment must show, run against standalone and Cluster. */
function fleetBehaviour(
  name: string,
  skip: false | string,
  connect: () => Promise<RedisClient>,
  done: () => Promise<void>,
): void {
  describe(`RedisLedgerStore on ${name}`, { skip }, () => {
    let client: RedisClient
    const prefix = `hgtest:${randomBytes(4).toString('hex')}:`
    const guard = (id: string) =>
      new RedisLedgerStore({ client, policy, guardId: id, keyPrefix: prefix, syncIntervalMs: 0 })
    before(async () => {
      client = await connect()
    })
    after(async () => {
      for (const s of contractStores.splice(0)) await s.close()
      const nodes = client instanceof Cluster ? client.nodes('master') : [client as Redis]
      for (const node of nodes) {
        const keys = await node.keys(`${prefix}*`)
        if (keys.length > 0) for (const k of keys) await node.del(k)
      }
      client.disconnect()
      await done()
    })

    // The LedgerStore contract on this deployment, each store with a live 50 ms syncer.
    ledgerStoreContract(`RedisLedgerStore on ${name}`, ({ maxPrincipals }) => {
      const store = new RedisLedgerStore({
        client,
        policy,
        maxPrincipals,
        keyPrefix: prefix,
        syncIntervalMs: 50,
      })
      contractStores.push(store)
      return store
    })

    it('merges what every guard served a principal, counting each record once', async () => {
      const a = guard('a')
      const b = guard('b')
      const ea = createEngine({ policy, store: a })
      const eb = createEngine({ policy, store: b })
      const p = 'ip:198.51.100.9'
      // a serves records 0..399, b serves 300..699: 700 distinct, 100 in common
      for (let i = 0; i < 400; i++) ea.observe(apiEvent([p], T0 + i, [i]))
      for (let i = 300; i < 700; i++) eb.observe(apiEvent([p], T0 + i, [i]))
      await a.sync()
      await b.sync()
      await a.sync()
      for (const store of [a, b]) {
        const ledger = store.get(p)
        assert.ok(ledger !== undefined)
        const distinct = ledger.distinct(0, T0 + 1000)
        assert.ok(
          Math.abs(distinct - 700) <= 700 * SKETCH_TOLERANCE,
          `${store.guardId}: ${distinct} distinct, expected ~700`,
        )
        assert.equal(ledger.requests, 800, 'requests add across guards')
      }
      // syncing again never double counts: each guard publishes only what it saw itself
      await a.sync()
      await b.sync()
      await a.sync()
      assert.equal(a.get(p)?.requests, 800)
      assert.equal(b.get(p)?.requests, 800)
      await a.close()
      await b.close()
    })

    it('answers every reading as the fleet (own and peers), recording each event once', async () => {
      const a = guard('a4')
      const b = guard('b4')
      const p = 'ip:198.51.100.10'
      const own = new Ledger()
      const peer = new Ledger()
      for (let i = 0; i < 60; i++) {
        const e = {
          ...apiEvent([p], T0 + i * 700, [i]),
          ordinal: i,
          status: i % 7 === 0 ? 404 : 200,
        }
        a.getOrCreate(p, e.timeMs).record(e, policy, 0)
        own.record(e, policy, 0)
      }
      for (let i = 0; i < 40; i++) {
        const e = {
          ...apiEvent([p], T0 + 300 + i * 900, [1000 + i]),
          resource: 'page' as const,
          client: { ip: '', userAgent: '', referer: false, anomalies: 3 },
        }
        b.getOrCreate(p, e.timeMs).record(e, policy, 0)
        peer.record(e, policy, 0)
      }
      await b.sync()
      await a.sync()
      const fleet = new Ledger()
      fleet.merge(own, policy)
      fleet.merge(peer, policy)
      const ledger = a.get(p) as Ledger
      const t = T0 + 60 * 700
      const readings = Object.entries(Object.getOwnPropertyDescriptors(Ledger.prototype)).filter(
        ([member]) =>
          ![
            'constructor',
            'flags',
            'heapBytes',
            'lastMs',
            'record',
            'merge',
            'refreshView',
            'toBytes',
          ].includes(member),
      )
      assert.ok(readings.length > 20)
      for (const [member, desc] of readings) {
        // through the instance (as the signals read), not Ledger.prototype
        const read = (l: Ledger): unknown => {
          const value = (l as unknown as Record<string, unknown>)[member]
          if (desc.get !== undefined) return value
          const arg = member === 'weighted' ? policy : policy.windows
          return (value as (...a: unknown[]) => unknown).call(l, 0, t, arg)
        }
        assert.deepEqual(read(ledger), read(fleet), `${member} reads the fleet's`)
      }
      assert.equal(ledger.requests, 100)
      // what a publishes is what it saw, once per event
      assert.deepEqual(Ledger.prototype.toBytes.call(ledger), own.toBytes())
      await a.close()
      await b.close()
    })

    it('keeps the view exact round after round, and drops what a restarted peer lost', async () => {
      const a = guard('a6')
      const b = guard('b6')
      const c = guard('c6')
      const p = 'ip:198.51.100.12'
      const exact = { a: new Ledger(), b: new Ledger(), c: new Ledger() }
      let t = T0
      // round-robin traffic over the 3 guards, a sync round after every 30 events
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 30; i++) {
          const e = apiEvent([p], (t += 400), [round * 1000 + i, 90_000 + (i % 7)])
          const g = (['a', 'b', 'c'] as const)[i % 3]!
          ;({ a, b, c })[g].getOrCreate(p, e.timeMs).record(e, policy, 0)
          exact[g].record(e, policy, 0)
        }
        for (const s of [a, b, c]) await s.sync()
        await a.sync()
        const fleet = new Ledger()
        fleet.merge(exact.b, policy)
        fleet.merge(exact.c, policy)
        fleet.merge(exact.a, policy)
        const view = a.get(p) as Ledger
        assert.equal(view.requests, 30 * (round + 1), `round ${round}: requests`)
        assert.equal(view.records, fleet.records)
        assert.equal(view.distinct(2, t), fleet.distinct(2, t), `round ${round}: distinct`)
        assert.equal(view.requestsIn(0, t, policy.windows), fleet.requestsIn(0, t, policy.windows))
      }
      // c restarts empty and sees one event: its earlier part must leave a's view
      await c.close()
      const c2 = guard('c6')
      const e = apiEvent([p], (t += 400), [5000])
      c2.getOrCreate(p, e.timeMs).record(e, policy, 0)
      const restarted = new Ledger()
      restarted.record(e, policy, 0)
      await c2.sync()
      await a.sync()
      const view = a.get(p) as Ledger
      const fleet = new Ledger()
      for (const l of [exact.b, restarted, exact.a]) fleet.merge(l, policy)
      assert.equal(view.requests, exact.a.requests + exact.b.requests + 1)
      // a union cannot forget: the view was rebuilt (c's 40 earlier records are gone from it)
      assert.equal(view.distinct(2, t), fleet.distinct(2, t))
      await a.close()
      await b.close()
      await c2.close()
    })

    it("re-scores a principal at its next event once peers' state arrives", async () => {
      const a = guard('a5')
      const b = guard('b5')
      const p = 'ip:198.51.100.11'
      const la = a.getOrCreate(p, T0)
      const lb = b.getOrCreate(p, T0)
      let checkpoints = 0
      for (let i = 0; i < 300; i++)
        if (la.record(apiEvent([p], T0 + i, []), policy, 0)) checkpoints++
      // past the young checkpoints: the next few events are not checkpoints by themselves
      assert.equal(la.record(apiEvent([p], T0 + 300, []), policy, 0), false)
      for (let i = 0; i < 10; i++) lb.record(apiEvent([p], T0 + i, [i]), policy, 0)
      await b.sync()
      await a.sync()
      assert.ok(checkpoints > 0)
      assert.equal(la.record(apiEvent([p], T0 + 301, []), policy, 0), true, 'fresh fleet state')
      assert.equal(la.record(apiEvent([p], T0 + 302, []), policy, 0), false, 'once')
      await a.close()
      await b.close()
    })

    it('adopts a stronger live decision another guard took', async () => {
      const a = guard('a2')
      const b = guard('b2')
      const p = 'net:198.51.100.0/24'
      a.getOrCreate(p, T0).record(apiEvent([p], T0, [1]), policy)
      a.setDecision(p, decision(p, 'block', T0))
      await a.sync()
      b.getOrCreate(p, T0 + 10).record(apiEvent([p], T0 + 10, [2]), policy)
      assert.equal(b.decision(p, T0 + 10), undefined)
      const round = await b.sync()
      assert.equal(round?.adopted, 1)
      assert.equal(b.decision(p, T0 + 20)?.action, 'block')
      assert.equal(
        b.decision(p, T0 + 700_000),
        undefined,
        'an adopted decision lapses as it would at its guard',
      )
      await a.close()
      await b.close()
    })

    it('spends one command per write and one per read per principal in a round', async () => {
      const a = guard('a3')
      for (let i = 0; i < 50; i++) {
        const p = `ip:203.0.113.${i}`
        a.getOrCreate(p, T0).record(apiEvent([p], T0, [i]), policy)
      }
      const first = await a.sync()
      assert.equal(first?.principals, 50)
      assert.equal(first?.commands, 150, 'write + expiry + read on first publication')
      for (let i = 0; i < 50; i++) {
        const p = `ip:203.0.113.${i}`
        a.getOrCreate(p, T0 + 1000).record(apiEvent([p], T0 + 1000, [i]), policy)
      }
      const second = await a.sync()
      assert.equal(second?.commands, 100, 'write + read afterwards (expiry refreshed rarely)')
      await a.close()
    })
  })
}

fleetBehaviour(
  'the machine Redis',
  redisSkip,
  async () => new Redis({ host: REDIS_HOST, port: REDIS_PORT, lazyConnect: false }),
  async () => {},
)

let cluster: RedisClusterProcesses | undefined
fleetBehaviour(
  'a 3-node Redis Cluster',
  clusterSkip,
  async () => {
    cluster = await startRedisCluster(3)
    const c = new Cluster(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })))
    await c.ping()
    return c
  },
  async () => {
    await cluster?.stop()
  },
)

describe('RedisLedgerStore while Redis is unreachable', () => {
  it('judges on local state, keeps the principals for the next round and reports the failure', async () => {
    const port = await sparePort()
    const client = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    client.on('error', () => {})
    const errors: string[] = []
    const store = new RedisLedgerStore({
      client,
      policy,
      syncIntervalMs: 0,
      onError: (e) => errors.push(e.code),
    })
    const engine = createEngine({ policy, store })
    for (let i = 0; i < 100; i++) engine.observe(apiEvent(['ip:192.0.2.1'], T0 + i, [i]))
    assert.equal(await store.sync(), undefined)
    assert.deepEqual(errors, ['HG_STORE_UNAVAILABLE'])
    assert.equal(store.stats.dirty, 1, 'the principal waits for the next round')
    assert.equal(store.stats.degraded, true)
    assert.equal(store.get('ip:192.0.2.1')?.requests, 100)
    assert.notEqual(
      store.decision('ip:192.0.2.1', T0 + 100)?.readings[0]?.signal,
      'store-unavailable',
      "onStoreError 'allow' keeps judging locally",
    )
    client.disconnect()
  })

  it("fails closed with onStoreError 'block' once the outage outlasts the grace period", async () => {
    const port = await sparePort()
    const client = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    client.on('error', () => {})
    let now = 1_000_000
    const store = new RedisLedgerStore({
      client,
      policy,
      syncIntervalMs: 0,
      onStoreError: 'block',
      outageGraceMs: 5000,
      now: () => now,
    })
    store.getOrCreate('ip:192.0.2.2', T0).record(apiEvent(['ip:192.0.2.2'], T0, [1]), policy)
    await store.sync()
    now += 4000
    assert.equal(store.decision('ip:192.0.2.2', T0), undefined, 'within the grace period')
    now += 2000
    assert.equal(store.decision('ip:192.0.2.2', T0)?.action, 'block')
    assert.equal(store.decision('ip:192.0.2.2', T0)?.readings[0]?.signal, 'store-unavailable')
    client.disconnect()
  })
})

describe('RedisLedgerStore timer rounds', { skip: redisSkip }, () => {
  it('align on the clock: each guard reads what the others published in the same round', async (t) => {
    const client = new Redis({ host: REDIS_HOST, port: REDIS_PORT })
    await client.ping()
    const prefix = `hgtest:${randomBytes(4).toString('hex')}:`
    const p = 'ip:198.51.100.13'
    // the guards' clock (the timers are mocked: only this clock and tick() move time)
    let clock = 7_000_100
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const rounds: SyncRound[] = []
    const store = (guardId: string) =>
      new RedisLedgerStore({
        client,
        policy,
        guardId,
        keyPrefix: prefix,
        syncIntervalMs: 1000,
        now: () => clock,
        onSync: (r) => rounds.push(r),
      })
    const a = store('a')
    // b starts 300 ms later: on its own phase it would sync 300 ms after a, every time
    clock += 300
    const b = store('b')
    a.getOrCreate(p, T0).record(apiEvent([p], T0, [1]), policy, 0)
    b.getOrCreate(p, T0 + 1).record(apiEvent([p], T0 + 1, [2]), policy, 0)
    // at the next whole second both publish (a's timer is due in 900 ms, b's in 600 ms) ...
    clock = 7_001_000
    t.mock.timers.tick(900)
    const key = `${prefix}{${p}}:fleet`
    for (let i = 0; i < 1000 && (await client.hlen(key)) < 2; i++);
    assert.equal(await client.hlen(key), 2, 'both published at the boundary')
    assert.equal(rounds.length, 0, 'and neither has read yet')
    // ... and both read a quarter interval later
    clock += 250
    t.mock.timers.tick(250)
    for (let i = 0; i < 1000 && rounds.length < 2; i++) await client.ping()
    assert.equal(rounds.length, 2)
    assert.equal(a.get(p)?.requests, 2, "a has b's request of this round")
    assert.equal(b.get(p)?.requests, 2, "b has a's request of this round")
    await a.close()
    await b.close()
    await client.del(key)
    client.disconnect()
  })
})
