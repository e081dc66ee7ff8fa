/** Ledger stores: memory (with snapshots to disk); a Redis store for fleets comes later. */
export { MemoryLedgerStore, SNAPSHOT_IO, readSnapshot, writeSnapshot } from './memory.ts'
