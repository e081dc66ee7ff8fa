/** Ledger stores: memory (with snapshots to disk); a Redis store for fleets comes later. */
export { MemoryLedgerStore, SNAPSHOT_IO, readSnapshot, writeSnapshot } from './memory.ts'
export {
  RedisLedgerStore,
  STORE_ERROR_MODES,
  STORE_UNAVAILABLE,
  type RedisLedgerStoreOptions,
  type RedisStoreStats,
  type StoreErrorMode,
  type SyncRound,
} from './redis-ledger-store.ts'
export {
  RedisFleetExchange,
  keySlot,
  type FleetEntry,
  type FleetPeers,
  type RedisClient,
} from './redis-fleet.ts'
export {
  createStore,
  type CreateStoreOptions,
  type CreatedStore,
  type StoreSettings,
} from './redis-factory.ts'
