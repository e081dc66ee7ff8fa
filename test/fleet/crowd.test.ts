/**
 * A busy NAT (40 people behind one address, each browsing on their own device) spread over a
 * fleet of 3 guards sharing the machine's Redis, against one guard that sees all of it. An
 * address's volume budget scales with the device fingerprints seen behind it (its crowd), so
 * the fleet must judge the address on the crowd every guard saw, as the single guard does: a
 * fleet view that lost the crowd judged the NAT as one reader and masked it.
 *
 * Sync rounds are driven by event time (every SYNC_MS of the traffic's clock), so the test is
 * deterministic and takes no wall-clock time.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { Ledger, MemoryLedgerStore, actionRank, createEngine } from '../../src/core/index.ts'
import type { Engine, Event, Principal } from '../../src/core/index.ts'
import { RedisLedgerStore } from '../../src/stores/redis-ledger-store.ts'
import { deleteRedisKeys, REDIS_HOST, REDIS_PORT, requireService } from '../support/services.ts'
import { apiEvent, defaultPolicy } from '../stores/fleet-support.ts'

const skip = await requireService('Redis', REDIS_HOST, REDIS_PORT)
const policy = defaultPolicy()
const T0 = 1_800_000_000_000
const SYNC_MS = 1000
const GAP_MS = 20
const REQUESTS = 1500
const PEOPLE = 40
const ADDRESS = 'ip:198.51.100.88'
const SUBNET = 'net:198.51.100.0/24'
const DEVICES: Principal[] = Array.from(
  { length: PEOPLE },
  (_, i) => `device:${createHash('sha256').update(`person ${i}`).digest('hex').slice(0, 16)}`,
)

/** Request `i`: person i mod 40 reads one new record with a browser, a Referer in place. */
function request(i: number): Event {
  const e = apiEvent([ADDRESS, SUBNET, DEVICES[i % PEOPLE]!], T0 + i * GAP_MS, [5_000_000 + i])
  return {
    ...e,
    client: { ...e.client, referer: true, userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' },
  }
}

/** Strongest action taken on the address by any engine; `sync` runs every SYNC_MS of event time. */
async function traffic(engines: readonly Engine[], sync: () => Promise<void>): Promise<number> {
  let strongest = 0
  let nextSync = T0 + SYNC_MS
  for (let i = 0; i < REQUESTS; i++) {
    const t = T0 + i * GAP_MS
    while (t >= nextSync) {
      await sync()
      nextSync += SYNC_MS
    }
    const engine = engines[i % engines.length] as Engine
    engine.observe(request(i))
    const d = engine.decisionFor(ADDRESS, t)
    if (d !== undefined) strongest = Math.max(strongest, actionRank(d.action))
  }
  return strongest
}

describe('a NAT with 40 people behind it, spread over a fleet of 3 guards', { skip }, () => {
  const prefix = `hgtest:crowd:${randomBytes(4).toString('hex')}:`
  const client = skip === false ? new Redis({ host: REDIS_HOST, port: REDIS_PORT }) : undefined
  after(async () => {
    if (client === undefined) return
    await deleteRedisKeys(prefix, client)
    client.disconnect()
  })

  it('is judged on every device any guard saw, as one guard judges it', async () => {
    const single = createEngine({ policy, store: new MemoryLedgerStore() })
    const singleAction = await traffic([single], async () => {})
    const stores = ['c1', 'c2', 'c3'].map(
      (guardId) =>
        new RedisLedgerStore({
          client: client as Redis,
          policy,
          guardId,
          keyPrefix: prefix,
          syncIntervalMs: 0,
        }),
    )
    const engines = stores.map((store) => createEngine({ policy, store }))
    const fleetAction = await traffic(engines, async () => {
      for (const s of stores) await s.sync()
    })
    const t = T0 + REQUESTS * GAP_MS
    assert.ok(singleAction < actionRank('mask'), 'one guard lets the NAT through')
    assert.ok(
      fleetAction < actionRank('mask'),
      `the fleet lets it through too (strongest action on the address: rank ${fleetAction})`,
    )
    const crowd = (single.store.get(ADDRESS) as Ledger).crowd
    assert.ok(crowd > PEOPLE / 2, `the single guard counts the crowd (${crowd})`)
    for (const [k, store] of stores.entries()) {
      assert.equal((store.get(ADDRESS) as Ledger).crowd, crowd, `guard ${k + 1} sees the crowd`)
      const explained = engines[k]!.explain(ADDRESS, t)
      const volume = explained?.readings.find((r) => r.signal === 'distinct-records')
      const singleVolume = single
        .explain(ADDRESS, t)
        ?.readings.find((r) => r.signal === 'distinct-records')
      console.log(`# guard ${k + 1}: ${volume?.note}; single guard: ${singleVolume?.note}`)
    }
    for (const s of stores) await s.close()
  })
})

/** Ledger bytes as the release before the crowd was kept wrote them (28 counters, no crowd). */
function withoutCrowd(bytes: Uint8Array): Uint8Array {
  let at = 0
  const varint = (): number => {
    let v = 0
    let scale = 1
    for (;;) {
      const b = bytes[at++]!
      v += (b & 127) * scale
      if (b < 128) return v
      scale *= 128
    }
  }
  const out: number[] = []
  const put = (v: number): void => {
    while (v >= 128) {
      out.push((v % 128) | 128)
      v = Math.floor(v / 128)
    }
    out.push(v)
  }
  put(varint()) // version
  const count = varint()
  assert.equal(count, 30)
  put(28)
  for (let i = 0; i < count; i++) {
    const v = varint()
    if (i < 28) put(v)
  }
  return new Uint8Array([...out, ...bytes.subarray(at)])
}

describe('ledger bytes of a guard on the previous release (rolling upgrade)', () => {
  it('still decode and merge, with the crowd unknown', () => {
    const ledger = new Ledger()
    for (let i = 0; i < 100; i++) ledger.record(request(i), policy, 0)
    const old = Ledger.fromBytes(withoutCrowd(ledger.toBytes()), policy.windows)
    assert.equal(old.crowd, 0)
    assert.equal(old.requests, 100)
    assert.equal(old.distinct(0, T0 + 100 * GAP_MS), ledger.distinct(0, T0 + 100 * GAP_MS))
    const merged = new Ledger()
    merged.merge(old, policy)
    merged.merge(Ledger.fromBytes(ledger.toBytes(), policy.windows), policy)
    assert.equal(merged.crowd, ledger.crowd)
  })
})
