/**
 * The log reader thread's tap for `analyze --threads 2` (loaded by URL in the worker, see
 * `LineTap` in src/logs): keeps the report's per-identity totals next to the parser, so that
 * the judging thread only runs the engine; the table crosses back once, at the end.
 */
import type { Exposure } from '../core/index.ts'
import type { Principal } from '../core/index.ts'
import { IdentityTable, type IdentityWire } from './identities.ts'

/** Creates the tap (the worker calls this export by name). */
export function createTap(): {
  add(principals: readonly Principal[], timeMs: number, exposures: readonly Exposure[]): void
  finish(): { value: IdentityWire[]; transfer: ArrayBuffer[] }
} {
  const table = new IdentityTable()
  return {
    add: (principals, timeMs, exposures) => table.add(principals, timeMs, exposures),
    finish() {
      const transfer: ArrayBuffer[] = []
      return { value: table.toWire(transfer), transfer }
    },
  }
}

/** URL of this module, for `openParallelLogSource({ tap })`. */
export const IDENTITY_TAP_URL: string = import.meta.url
