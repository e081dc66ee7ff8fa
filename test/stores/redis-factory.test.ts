import { describe, it } from 'node:test'
import { Redis } from 'ioredis'
import assert from 'node:assert/strict'
import { parseConfig } from '../../src/config/index.ts'
import { MemoryLedgerStore } from '../../src/core/index.ts'
import { RedisLedgerStore, createStore } from '../../src/stores/index.ts'
import { REDIS_HOST, REDIS_PORT, requireService } from '../support/services.ts'
import { apiEvent, defaultPolicy } from './fleet-support.ts'

const skip = await requireService('Redis', REDIS_HOST, REDIS_PORT)
const policy = defaultPolicy()

describe('createStore', () => {
  it('builds the memory store by default', async () => {
    const config = parseConfig('', 'empty.yaml')
    const { store, close } = createStore(config.store, { policy })
    assert.ok(store instanceof MemoryLedgerStore)
    assert.equal(store.maxPrincipals, 1_000_000)
    await close()
  })

  it('does not report a guard starting up as a Redis outage', { skip }, async () => {
    // Sync rounds every millisecond from the start: the client (no offline queue) is still
    // connecting for the first ones; they wait for it instead of failing.
    // (1 ms is below what config accepts; the factory takes it, so the first rounds surely
    // fall in the connection's first milliseconds.)
    const settings = parseConfig(
      `store:\n  kind: redis\n  redis:\n    url: redis://${REDIS_HOST}:${REDIS_PORT}\n    keyPrefix: 'hgtest:factory-start:'\n`,
      'fleet.yaml',
    ).store
    const config = {
      store: { ...settings, redis: { ...settings.redis, syncIntervalMs: 1 } },
    }
    const errors: string[] = []
    const synced: number[] = []
    const { store, close } = createStore(config.store, {
      policy,
      onError: (e) => errors.push(e.message),
      onSync: (round) => synced.push(round.principals),
    })
    try {
      store
        .getOrCreate('ip:192.0.2.51', 1000)
        .record(apiEvent(['ip:192.0.2.51'], 1000, [1]), policy)
      const deadline = Date.now() + 5000
      while (synced.length === 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10))
      assert.deepEqual(errors, [])
      assert.equal(synced[0], 1, 'the ledger was published once connected')
    } finally {
      await close()
      const cleanup = new Redis({ host: REDIS_HOST, port: REDIS_PORT })
      await cleanup.del('hgtest:factory-start:{ip:192.0.2.51}:fleet')
      cleanup.disconnect()
    }
  })

  it('builds a RedisLedgerStore from `store: {kind: redis}` alone', { skip }, async () => {
    const config = parseConfig(
      `store:\n  kind: redis\n  redis:\n    url: redis://${REDIS_HOST}:${REDIS_PORT}\n    keyPrefix: 'hgtest:factory:'\n    syncInterval: 5s\n`,
      'fleet.yaml',
    )
    const { store, client, close } = createStore(config.store, {
      policy,
      onStoreError: config.onStoreError,
    })
    try {
      assert.ok(store instanceof RedisLedgerStore)
      if (client !== undefined && client.status !== 'ready')
        await new Promise((resolve) => client.once('ready', resolve))
      store
        .getOrCreate('ip:192.0.2.50', 1000)
        .record(apiEvent(['ip:192.0.2.50'], 1000, [1]), policy)
      const round = await store.sync()
      assert.equal(round?.principals, 1)
    } finally {
      await close()
      if (client !== undefined) {
        const cleanup = new Redis({ host: REDIS_HOST, port: REDIS_PORT })
        await cleanup.del('hgtest:factory:{ip:192.0.2.50}:fleet')
        cleanup.disconnect()
      }
    }
  })
})
