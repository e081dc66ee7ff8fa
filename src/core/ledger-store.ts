/**
 * The LedgerStore port (where ledgers and live decisions live) and its in-memory implementation.
 * Synchronous on purpose: the engine judges on the hot path and a store that needs I/O (Redis)
 * keeps a local working set and syncs in the background. The Node side (snapshots to disk) is
 * src/stores/memory.ts; this file is pure.
 */
import type { Decision } from './decision.ts'
import { HarvestGuardError } from './errors.ts'
import { LEDGER_FLAG, Ledger } from './ledger.ts'
import type { Principal } from './principal.ts'
import type { Windows } from './sketch/index.ts'

/** Code of a store snapshot that cannot be decoded. */
export const SNAPSHOT_CORRUPT = 'HG_SNAPSHOT_CORRUPT'

/** Where ledgers and live decisions live. Every implementation passes test/contracts/ledger-store.ts. */
export interface LedgerStore {
  /** Ledgers tracked now. */
  readonly size: number
  /** Most ledgers tracked at once; past it the least recently active is evicted. */
  readonly maxPrincipals: number
  /** Ledgers evicted to respect {@link maxPrincipals} since creation. */
  readonly evictions: number
  /** Ledgers dropped by {@link sweep} for inactivity since creation. */
  readonly expirations: number
  get(principal: Principal): Ledger | undefined
  /** The principal's ledger, created (evicting the least recently active if full) when absent. */
  getOrCreate(principal: Principal, timeMs: number): Ledger
  delete(principal: Principal): boolean
  /** Every tracked ledger, least recently active first (approximately). */
  entries(): IterableIterator<[Principal, Ledger]>
  /** Drops ledgers whose latest request is older than `idleMs` before `timeMs`; returns how many. */
  sweep(timeMs: number, idleMs: number): number
  /** The live decision that applies to the principal at `timeMs`, if any (expired ones go). */
  decision(principal: Principal, timeMs: number): Decision | undefined
  setDecision(principal: Principal, decision: Decision): void
  /** Decisions held (live or not yet purged): 0 lets judge() skip every lookup. */
  readonly decisionCount: number
  /**
   * True when the store sets LEDGER_FLAG.decided on a tracked principal's ledger whenever it
   * holds a decision for that principal (and on a ledger created for a principal that has
   * one): the engine then skips the decision lookup for ledgers without the flag.
   */
  readonly marksDecided?: boolean
  /**
   * Optional. A number that changes whenever a ledger leaves the store (evicted, deleted,
   * swept). A store that has it promises that, while it stays the same, a ledger it returned is
   * still its principal's ledger and getOrCreate of a tracked principal does nothing but look it
   * up: the engine may then keep the ledgers of a reused principal list instead of looking each
   * one up per event. A store whose getOrCreate does more (the fleet store notes the time) must
   * not have it.
   */
  readonly generation?: number
  /** Every live decision at `timeMs`, with the principal it is held under. */
  decisions(timeMs: number): IterableIterator<[Principal, Decision]>
}

/** Options of {@link MemoryLedgerStore}. */
export interface MemoryLedgerStoreOptions {
  /** Most principals tracked at once. @default 1_000_000 */
  readonly maxPrincipals?: number
  /**
   * At eviction, a ledger active within this many milliseconds gets a second chance (moved to
   * the recent end) instead of being evicted. @default 60_000
   */
  readonly touchMs?: number
}

const FORMAT = 'harvestguard-ledgers'
const FORMAT_VERSION = 1

const isActive = (ledger: Ledger): boolean => ledger.requests > 0

/**
 * Removes one ledger from a map in creation order, least recently active first, approximately,
 * and returns it (undefined when the map is empty). The map is not reordered on use (re-inserting
 * on every event churned its tables and cost more than the accounting); instead, second chance:
 * an entry at the old end that `active` says has requests and that was active within `touchMs` of
 * now goes to the recent end and the next is examined, up to 32.
 */
export function evictLeastRecent<L extends Ledger>(
  ledgers: Map<Principal, L>,
  timeMs: number,
  touchMs: number,
  active: (ledger: L) => boolean,
): L | undefined {
  let chances = 32
  for (const [principal, ledger] of ledgers) {
    if (chances-- > 0 && active(ledger) && timeMs - ledger.lastMs <= touchMs) {
      ledgers.delete(principal)
      ledgers.set(principal, ledger)
      continue
    }
    ledgers.delete(principal)
    return ledger
  }
  return undefined
}

/**
 * Ledgers and live decisions in process memory, with a cap on tracked principals (least recently
 * active evicted first, approximately: second-chance over creation order; counted).
 */
export class MemoryLedgerStore implements LedgerStore {
  readonly maxPrincipals: number
  // Judging every event looked each principal up in #decisions (6% of the engine's time in
  // bench/engine.bench.ts); the flag on the ledger, already in hand, answers for nearly all.
  readonly marksDecided = true
  readonly #touchMs: number
  readonly #ledgers = new Map<Principal, Ledger>()
  readonly #decisions = new Map<Principal, Decision>()
  #evictions = 0
  #expirations = 0
  #generation = 0

  constructor(options: MemoryLedgerStoreOptions = {}) {
    const max = options.maxPrincipals ?? 1_000_000
    if (!Number.isInteger(max) || max < 1) {
      throw new HarvestGuardError(
        'HG_STORE_OPTIONS',
        `maxPrincipals must be a positive integer, got ${max}`,
      )
    }
    this.maxPrincipals = max
    this.#touchMs = options.touchMs ?? 60_000
  }

  get size(): number {
    return this.#ledgers.size
  }
  get evictions(): number {
    return this.#evictions
  }
  get expirations(): number {
    return this.#expirations
  }
  get decisionCount(): number {
    return this.#decisions.size
  }
  get generation(): number {
    return this.#generation
  }

  get(principal: Principal): Ledger | undefined {
    return this.#ledgers.get(principal)
  }

  getOrCreate(principal: Principal, timeMs: number): Ledger {
    const ledgers = this.#ledgers
    let ledger = ledgers.get(principal)
    if (ledger !== undefined) return ledger
    if (ledgers.size >= this.maxPrincipals) this.#evict(timeMs)
    ledger = new Ledger()
    if (this.#decisions.size > 0 && this.#decisions.has(principal)) {
      ledger.flags = LEDGER_FLAG.decided
    }
    ledgers.set(principal, ledger)
    return ledger
  }

  /** Evicts one ledger, least recently active first, approximately (see evictLeastRecent). */
  #evict(timeMs: number): void {
    if (evictLeastRecent(this.#ledgers, timeMs, this.#touchMs, isActive) !== undefined) {
      this.#evictions++
      this.#generation++
    }
  }

  delete(principal: Principal): boolean {
    if (!this.#ledgers.delete(principal)) return false
    this.#generation++
    return true
  }

  entries(): IterableIterator<[Principal, Ledger]> {
    return this.#ledgers.entries()
  }

  sweep(timeMs: number, idleMs: number): number {
    // A full scan: the Map is in creation order, not recency (see #evict). Called rarely.
    let dropped = 0
    for (const [principal, ledger] of this.#ledgers) {
      if (timeMs - ledger.lastMs > idleMs) {
        this.#ledgers.delete(principal)
        dropped++
      }
    }
    for (const [principal, d] of this.#decisions) {
      if (d.expiresAtMs <= timeMs) this.#decisions.delete(principal)
    }
    this.#expirations += dropped
    if (dropped > 0) this.#generation++
    return dropped
  }

  decision(principal: Principal, timeMs: number): Decision | undefined {
    const d = this.#decisions.get(principal)
    if (d === undefined) return undefined
    if (d.expiresAtMs <= timeMs) {
      this.#decisions.delete(principal)
      return undefined
    }
    return d
  }

  setDecision(principal: Principal, decision: Decision): void {
    this.#decisions.set(principal, decision)
    const ledger = this.#ledgers.get(principal)
    if (ledger !== undefined) ledger.flags |= LEDGER_FLAG.decided
  }

  *decisions(timeMs: number): IterableIterator<[Principal, Decision]> {
    for (const entry of this.#decisions) if (entry[1].expiresAtMs > timeMs) yield entry
  }

  /**
   * Serialises every ledger and live decision (a snapshot). Ledgers hold digests and counts
   * only; decisions hold principals (digests for accounts, keys, sessions, devices) and notes.
   */
  toBytes(timeMs: number): Uint8Array {
    const enc = { encode: encodeUtf8 }
    const decisions = enc.encode(JSON.stringify([...this.decisions(timeMs)]))
    const parts: Uint8Array[] = []
    let total = 0
    const push = (b: Uint8Array) => {
      parts.push(b)
      total += b.length
    }
    push(enc.encode(`${FORMAT} ${FORMAT_VERSION}\n`))
    push(u32(decisions.length))
    push(decisions)
    push(u32(this.#ledgers.size))
    for (const [principal, ledger] of this.#ledgers) {
      const key = enc.encode(principal)
      const bytes = ledger.toBytes()
      push(u32(key.length))
      push(key)
      push(u32(bytes.length))
      push(bytes)
    }
    const out = new Uint8Array(total)
    let at = 0
    for (const p of parts) {
      out.set(p, at)
      at += p.length
    }
    return out
  }

  /**
   * Restores a store from {@link toBytes}. Ledgers keep their recency order.
   * @throws HarvestGuardError HG_SNAPSHOT_CORRUPT when the bytes are not a snapshot.
   */
  static fromBytes(
    bytes: Uint8Array,
    windows: Windows,
    options: MemoryLedgerStoreOptions = {},
  ): MemoryLedgerStore {
    const store = new MemoryLedgerStore(options)
    const dec = { decode: decodeUtf8 }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    let at = 0
    const fail = (message: string, cause?: unknown): never => {
      throw new HarvestGuardError(
        SNAPSHOT_CORRUPT,
        `snapshot at byte ${at}: ${message}`,
        cause === undefined ? undefined : { cause },
      )
    }
    const readU32 = (): number => {
      if (at + 4 > bytes.length) fail('truncated')
      const n = view.getUint32(at, true)
      at += 4
      return n
    }
    const take = (n: number): Uint8Array => {
      if (at + n > bytes.length) fail('truncated')
      const out = bytes.subarray(at, at + n)
      at += n
      return out
    }
    const nl = bytes.indexOf(10)
    const header = nl < 0 || nl > 64 ? '' : decodeUtf8(bytes.subarray(0, nl))
    if (header !== `${FORMAT} ${FORMAT_VERSION}`)
      fail('not a HarvestGuard ledger snapshot (bad header)')
    at = nl + 1
    let decisions: unknown
    try {
      decisions = JSON.parse(dec.decode(take(readU32())))
    } catch (cause) {
      if (cause instanceof HarvestGuardError) throw cause
      fail('decisions are not valid JSON', cause)
    }
    if (!Array.isArray(decisions)) fail('decisions are not a list')
    for (const entry of decisions as unknown[][]) {
      if (
        !Array.isArray(entry) ||
        typeof entry[0] !== 'string' ||
        typeof entry[1] !== 'object' ||
        entry[1] === null ||
        typeof (entry[1] as Decision).expiresAtMs !== 'number' ||
        typeof (entry[1] as Decision).action !== 'string'
      ) {
        fail('malformed decision')
      }
      store.setDecision(entry[0] as string, entry[1] as Decision)
    }
    const count = readU32()
    for (let i = 0; i < count; i++) {
      let principal = ''
      try {
        principal = dec.decode(take(readU32()))
      } catch (cause) {
        if (cause instanceof HarvestGuardError) throw cause
        fail('principal is not UTF-8', cause)
      }
      const ledgerBytes = take(readU32())
      try {
        const ledger = Ledger.fromBytes(ledgerBytes, windows)
        if (store.#decisions.has(principal)) ledger.flags |= LEDGER_FLAG.decided
        store.#ledgers.set(principal, ledger)
      } catch (cause) {
        fail(`ledger of ${principal}: ${(cause as Error).message}`, cause)
      }
    }
    if (at !== bytes.length) fail('trailing bytes')
    return store
  }
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n, true)
  return b
}

// core has no TextEncoder (no platform APIs): UTF-8 through the URI functions, off the hot path.
function encodeUtf8(text: string): Uint8Array {
  const uri = encodeURIComponent(text)
  const out: number[] = []
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i)
    if (c === 37 /* % */) {
      out.push(parseInt(uri.slice(i + 1, i + 3), 16))
      i += 2
    } else {
      out.push(c)
    }
  }
  return Uint8Array.from(out)
}

function decodeUtf8(bytes: Uint8Array): string {
  let uri = ''
  for (let i = 0; i < bytes.length; i++) uri += `%${bytes[i]!.toString(16).padStart(2, '0')}`
  return decodeURIComponent(uri)
}
