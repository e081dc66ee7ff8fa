// The LedgerStore contract: every store (memory, Redis, …) passes this suite. A backend's test
// file calls ledgerStoreContract with a factory for fresh, empty stores.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { policySchema } from '../../src/config/policy-schema.ts'
import { compilePolicy, type Decision, type Event, type LedgerStore } from '../../src/core/index.ts'

/** Makes a fresh empty store holding at most `maxPrincipals` ledgers. */
export type LedgerStoreFactory = (options: {
  maxPrincipals: number
}) => LedgerStore | Promise<LedgerStore>

const policy = compilePolicy(policySchema.parse({}))
const T0 = Date.UTC(2026, 0, 5)

function event(timeMs: number, principal: string, subject: number): Event {
  return {
    timeMs,
    method: 'GET',
    route: '',
    path: '/',
    status: 200,
    bytes: 1,
    resource: 'api',
    principals: [principal],
    exposures: [{ subject, fields: 5 }],
    client: { ip: '', userAgent: '', referer: true, anomalies: 0 },
    ordinal: -1,
  }
}

function decision(principal: string, timeMs: number, ttlMs: number): Decision {
  return {
    principal,
    actor: principal,
    action: 'block',
    score: 120,
    readings: [{ signal: 'distinct-records', value: 2, contribution: 100, note: 'n' }],
    linked: [],
    timeMs,
    expiresAtMs: timeMs + ttlMs,
    shadow: false,
  }
}

/** Runs the LedgerStore contract against stores from `make`. */
export function ledgerStoreContract(name: string, make: LedgerStoreFactory): void {
  describe(`LedgerStore contract: ${name}`, () => {
    it('creates a ledger once and returns the same one after', async () => {
      const store = await make({ maxPrincipals: 100 })
      const a = store.getOrCreate('ip:192.0.2.1', T0)
      a.record(event(T0, 'ip:192.0.2.1', 1), policy)
      assert.equal(store.getOrCreate('ip:192.0.2.1', T0 + 1), a)
      assert.equal(store.get('ip:192.0.2.1'), a)
      assert.equal(store.get('ip:192.0.2.2'), undefined)
      assert.equal(store.size, 1)
    })

    it('evicts the least recently active principal at the cap, counting evictions', async () => {
      const store = await make({ maxPrincipals: 3 })
      for (let i = 0; i < 3; i++) {
        store
          .getOrCreate(`ip:192.0.2.${i}`, T0 + i)
          .record(event(T0 + i, `ip:192.0.2.${i}`, i), policy)
      }
      // The first becomes active again well after the others.
      const later = T0 + 10 * 60_000
      store.getOrCreate('ip:192.0.2.0', later).record(event(later, 'ip:192.0.2.0', 9), policy)
      store.getOrCreate('ip:192.0.2.9', later + 1)
      assert.equal(store.size, 3)
      assert.equal(store.evictions, 1)
      assert.equal(store.get('ip:192.0.2.1'), undefined)
      assert.notEqual(store.get('ip:192.0.2.0'), undefined)
      assert.equal(store.maxPrincipals, 3)
    })

    it('deletes a ledger', async () => {
      const store = await make({ maxPrincipals: 10 })
      store.getOrCreate('account:a', T0)
      assert.equal(store.delete('account:a'), true)
      assert.equal(store.delete('account:a'), false)
      assert.equal(store.size, 0)
    })

    it('lists its entries', async () => {
      const store = await make({ maxPrincipals: 10 })
      store.getOrCreate('ip:192.0.2.1', T0)
      store.getOrCreate('key:k', T0)
      assert.deepEqual([...store.entries()].map(([p]) => p).toSorted(), ['ip:192.0.2.1', 'key:k'])
    })

    it('sweeps ledgers idle longer than asked, counting them', async () => {
      const store = await make({ maxPrincipals: 10 })
      store.getOrCreate('ip:192.0.2.1', T0).record(event(T0, 'ip:192.0.2.1', 1), policy)
      const day = 86_400_000
      store.getOrCreate('ip:192.0.2.2', T0 + day).record(event(T0 + day, 'ip:192.0.2.2', 2), policy)
      assert.equal(store.sweep(T0 + day, day / 2), 1)
      assert.equal(store.get('ip:192.0.2.1'), undefined)
      assert.notEqual(store.get('ip:192.0.2.2'), undefined)
      assert.equal(store.expirations, 1)
    })

    it('holds live decisions until they expire, by event time', async () => {
      const store = await make({ maxPrincipals: 10 })
      assert.equal(store.decisionCount, 0)
      const d = decision('ip:192.0.2.1', T0, 60_000)
      store.setDecision('ip:192.0.2.1', d)
      store.setDecision('account:linked', d)
      assert.deepEqual(store.decision('ip:192.0.2.1', T0 + 59_999), d)
      assert.deepEqual(store.decision('account:linked', T0 + 1), d)
      assert.equal([...store.decisions(T0 + 1)].length, 2)
      assert.equal(store.decision('ip:192.0.2.1', T0 + 60_000), undefined)
      assert.equal(store.decision('ip:192.0.2.9', T0), undefined)
      assert.equal([...store.decisions(T0 + 60_000)].length, 0)
    })

    it('keeps what a ledger counted', async () => {
      const store = await make({ maxPrincipals: 10 })
      const l = store.getOrCreate('key:partner', T0)
      for (let i = 0; i < 100; i++) l.record(event(T0 + i, 'key:partner', i % 40), policy)
      const again = store.get('key:partner')!
      assert.equal(again.requests, 100)
      assert.equal(again.distinct(0, T0 + 100), 40)
    })
  })
}
