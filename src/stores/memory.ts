/**
 * The memory ledger store with snapshots to disk: the store itself is core's MemoryLedgerStore
 * (pure, so the engine can default to it); this file adds the Node side, an atomic snapshot
 * write (temp file + fsync + rename, so a crash mid-write leaves the previous snapshot intact)
 * and a restore that forgives nothing (ledgers and live decisions come back as they were).
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import {
  HarvestGuardError,
  MemoryLedgerStore,
  SNAPSHOT_CORRUPT,
  type MemoryLedgerStoreOptions,
  type Windows,
} from '../core/index.ts'

export { MemoryLedgerStore }

/** Code of a snapshot file that cannot be written or read (I/O, not content). */
export const SNAPSHOT_IO = 'HG_SNAPSHOT_IO'

/**
 * Writes a snapshot of `store` (ledgers and decisions live at `timeMs`) to `file` atomically.
 * @returns bytes written
 * @throws HarvestGuardError HG_SNAPSHOT_IO when the file cannot be written
 */
export function writeSnapshot(store: MemoryLedgerStore, file: string, timeMs: number): number {
  const bytes = store.toBytes(timeMs)
  const temp = `${file}.${process.pid}.tmp`
  try {
    const fd = openSync(temp, 'w', 0o600)
    try {
      let at = 0
      while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, file)
  } catch (cause) {
    rmSync(temp, { force: true })
    throw new HarvestGuardError(
      SNAPSHOT_IO,
      `cannot write snapshot ${file}: ${(cause as Error).message}`,
      { cause },
    )
  }
  return bytes.length
}

/**
 * Restores a store from a snapshot file; undefined when the file does not exist (first start).
 * `windows` must be the policy's (a snapshot taken under other windows is refused).
 * @throws HarvestGuardError HG_SNAPSHOT_CORRUPT when the file is not a valid snapshot,
 *   HG_SNAPSHOT_IO when it exists but cannot be read
 */
export function readSnapshot(
  file: string,
  windows: Windows,
  options: MemoryLedgerStoreOptions = {},
): MemoryLedgerStore | undefined {
  let bytes: Uint8Array
  try {
    bytes = readFileSync(file)
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new HarvestGuardError(
      SNAPSHOT_IO,
      `cannot read snapshot ${file}: ${(cause as Error).message}`,
      { cause },
    )
  }
  try {
    return MemoryLedgerStore.fromBytes(bytes, windows, options)
  } catch (cause) {
    if (cause instanceof HarvestGuardError && cause.code === SNAPSHOT_CORRUPT) {
      throw new HarvestGuardError(SNAPSHOT_CORRUPT, `${file}: ${cause.message}`, { cause })
    }
    throw new HarvestGuardError(SNAPSHOT_CORRUPT, `${file}: ${(cause as Error).message}`, { cause })
  }
}
