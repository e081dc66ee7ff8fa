/**
 * Builds the ledger store a configuration names (`store:` section): the memory store by default,
 * RedisLedgerStore for a fleet. Choosing Redis is a configuration change only.
 */
import { Redis } from 'ioredis'
import type { HarvestGuardError } from '../core/index.ts'
import { MemoryLedgerStore } from '../core/index.ts'
import type { LedgerStore } from '../core/index.ts'
import type { CompiledPolicy } from '../core/index.ts'
import type { RedisClient } from './redis-fleet.ts'
import { RedisLedgerStore } from './redis-ledger-store.ts'
import type { StoreErrorMode, SyncRound } from './redis-ledger-store.ts'

/** The `store:` section of the config, as parsed (src/config). */
export interface StoreSettings {
  readonly kind: 'memory' | 'redis'
  readonly maxPrincipals: number
  readonly redis: {
    readonly url: string
    readonly keyPrefix: string
    readonly syncIntervalMs: number
  }
}

/** What a store needs besides its settings. */
export interface CreateStoreOptions {
  /** The compiled policy (Redis: decodes and merges peer ledgers). */
  readonly policy: CompiledPolicy
  /** Top-level `onStoreError` of the config. @default 'allow' */
  readonly onStoreError?: StoreErrorMode
  /** A ready client (e.g. an ioredis Cluster); by default one is opened from `store.redis.url`. */
  readonly client?: RedisClient
  /** Unique per guard process. @default hostname-pid-random */
  readonly guardId?: string
  readonly onError?: (error: HarvestGuardError) => void
  readonly onSync?: (round: SyncRound) => void
}

/** A store and how to shut it down (final sync, closing a client it opened). */
export interface CreatedStore {
  readonly store: LedgerStore
  /** The Redis client in use (undefined for the memory store). */
  readonly client?: RedisClient
  close(): Promise<void>
}

/**
 * Creates the configured ledger store.
 * @example
 * const { store, close } = createStore(config.store, { policy, onStoreError: config.onStoreError })
 * const engine = createEngine({ policy, store })
 */
export function createStore(settings: StoreSettings, options: CreateStoreOptions): CreatedStore {
  if (settings.kind === 'memory') {
    return {
      store: new MemoryLedgerStore({ maxPrincipals: settings.maxPrincipals }),
      close: async () => {},
    }
  }
  const owned = options.client === undefined
  const client =
    options.client ??
    new Redis(settings.redis.url, {
      // fail fast while Redis is down: the syncer keeps state and retries next round
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 2000),
    })
  if (owned) client.on('error', () => {}) // reported through the syncer's onError
  const store = new RedisLedgerStore({
    client,
    policy: options.policy,
    keyPrefix: settings.redis.keyPrefix,
    syncIntervalMs: settings.redis.syncIntervalMs,
    maxPrincipals: settings.maxPrincipals,
    onStoreError: options.onStoreError ?? 'allow',
    ...(options.guardId === undefined ? {} : { guardId: options.guardId }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
    ...(options.onSync === undefined ? {} : { onSync: options.onSync }),
  })
  return {
    store,
    client,
    async close() {
      await store.close()
      if (owned) client.disconnect()
    },
  }
}
