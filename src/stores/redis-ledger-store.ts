/**
 * A LedgerStore for a fleet of guards sharing one view through Redis (standalone or Cluster).
 *
 * Each guard judges on LOCAL ledgers, synchronously, exactly like the memory store: per-request
 * latency never waits on Redis. A background syncer (every `syncIntervalMs`) sends, in one round
 * trip per batch (one pipeline per Cluster node), this guard's own cumulative ledger for every
 * principal it saw since the last round plus its new decisions, and reads back what the other
 * guards hold for those principals. Peers' ledgers are merged into the local one (sketches by
 * union, counters by addition: see Ledger.merge) and the strongest live peer decision is
 * adopted, so a harvester spread over the fleet is judged on the sum of what every guard served
 * it, about one sync interval late.
 *
 * Why each guard publishes only what it saw itself: counters merge by addition, which is not
 * idempotent; so a guard overwrites its own field with its own cumulative ledger, and reads the
 * fleet's as own ∪ peers. A principal no other guard serves is recorded once, into the own
 * ledger; one the fleet shares is also recorded into its view (own ∪ peers), rebuilt at sync
 * time when the peers' bytes changed (see FleetLedger). Cost per round: `Ledger.toBytes` per
 * active principal, one merge per shared principal whose peers changed.
 *
 * Outage (`onStoreError`): a failed or timed-out round is counted and reported; the guard goes on
 * with local state. Nothing is queued but a set of dirty principals (bounded by `maxPrincipals`):
 * own ledgers are cumulative, so the first round that succeeds afterwards writes everything the
 * guard saw meanwhile. After an outage every tracked principal is re-published (in batches), which
 * also repopulates a Redis that restarted empty. With `onStoreError: 'block'` the guard fails
 * closed instead: while the store has been unreachable for longer than `outageGraceMs`, every
 * principal is judged `block`.
 */
import type { Action, Decision } from '../core/index.ts'
import { actionRank } from '../core/index.ts'
import type { Event } from '../core/index.ts'
import { HarvestGuardError } from '../core/index.ts'
import { Ledger, evictLeastRecent } from '../core/index.ts'
import type { LedgerStore } from '../core/index.ts'
import type { CompiledPolicy } from '../core/index.ts'
import type { Principal } from '../core/index.ts'
import { RedisFleetExchange } from './redis-fleet.ts'
import type { FleetEntry, FleetPeers, RedisClient } from './redis-fleet.ts'

/** Code of a failed or timed-out sync round with Redis. */
export const STORE_UNAVAILABLE = 'HG_STORE_UNAVAILABLE'

/** What a guard does while Redis is unreachable: go on with local state, or fail closed. */
export const STORE_ERROR_MODES = ['allow', 'block'] as const
/** One of {@link STORE_ERROR_MODES}. */
export type StoreErrorMode = (typeof STORE_ERROR_MODES)[number]

/** Options of {@link RedisLedgerStore}. */
export interface RedisLedgerStoreOptions {
  /** An ioredis client (`new Redis(url)` or `new Cluster(nodes)`); the caller owns it. */
  readonly client: RedisClient
  /** The compiled policy (its windows decode and merge peer ledgers). */
  readonly policy: CompiledPolicy
  /** Unique per guard process. @default a random id */
  readonly guardId?: string
  /** @default 'hg:' */
  readonly keyPrefix?: string
  /** Background sync period; 0 disables the timer (call {@link RedisLedgerStore.sync}). @default 1000 */
  readonly syncIntervalMs?: number
  /** A round slower than this counts as failed. @default max(2000, 2 × syncIntervalMs) */
  readonly syncTimeoutMs?: number
  /**
   * Rounds a principal is still read back after its last local activity, so a guard keeps
   * learning what the fleet does with a principal it saw recently. @default 3
   */
  readonly pullRounds?: number
  /** Principals per round at most; the rest wait for the next round. @default 10000 */
  readonly maxBatch?: number
  /** Most principals tracked locally; least recently active evicted first. @default 1_000_000 */
  readonly maxPrincipals?: number
  /** At eviction, a ledger active within this many ms gets a second chance. @default 60_000 */
  readonly touchMs?: number
  /** Expiry of a principal's fleet state after its last publication. @default 25h */
  readonly keyTtlMs?: number
  /** Fail open (`allow`: local state only) or closed (`block`) during an outage. @default 'allow' */
  readonly onStoreError?: StoreErrorMode
  /** How long Redis may be unreachable before `onStoreError: 'block'` applies. @default 3 × syncIntervalMs */
  readonly outageGraceMs?: number
  /** Every failed round (the hot path never sees them). */
  readonly onError?: (error: HarvestGuardError) => void
  /** Every successful round, for metrics. */
  readonly onSync?: (round: SyncRound) => void
  /** Wall clock for sync bookkeeping (never for judging). @default Date.now */
  readonly now?: () => number
}

/** One successful sync round. */
export interface SyncRound {
  /** Principals in the batch. */
  readonly principals: number
  /** Redis commands it cost. */
  readonly commands: number
  /** Peer ledgers merged into local ones. */
  readonly merged: number
  /** Peer decisions adopted. */
  readonly adopted: number
  readonly durationMs: number
}

/** Sync counters, for metrics and tests. */
export interface RedisStoreStats {
  readonly rounds: number
  readonly failedRounds: number
  readonly commands: number
  /** Principals waiting to be published. */
  readonly dirty: number
  /** Wall time of the last successful round, 0 before the first. */
  readonly lastSyncMs: number
  /** Whether the last round failed. */
  readonly degraded: boolean
}

/**
 * One principal's ledger on a guard: records what THIS guard saw (published as is), and answers
 * every reading the signals take as the fleet's. A principal only this guard serves (most of
 * them) is recorded once, as with the memory store. Once peers' state for it arrives, a view =
 * own ∪ peers is built at sync time and from then on each event is recorded into both (the view
 * is what the signals read); the view is rebuilt only when the peers' bytes change. Building it
 * lazily at checkpoints instead measured 4x slower (HyperLogLog merges dominated). Getters and
 * reading methods are redirected below the class (all of Ledger's but {@link OWN_ONLY}), so a
 * reading added to Ledger later reads the fleet's view too.
 */
class FleetLedger extends Ledger {
  readonly principal: Principal
  readonly #dirty: Set<FleetLedger>
  readonly #policy: CompiledPolicy
  touchedAtMs = 0
  /** What each peer (by guard id) last published, as the view holds it. */
  #peers: Map<string, PeerState> | undefined = undefined
  /** own ∪ peers, once peers' state is known. */
  #view: Ledger | undefined = undefined

  constructor(principal: Principal, dirty: Set<FleetLedger>, policy: CompiledPolicy) {
    super()
    this.principal = principal
    this.#dirty = dirty
    this.#policy = policy
  }

  override record(event: Event, policy: CompiledPolicy, kind = -1): boolean {
    const checkpoint = super.record(event, policy, kind)
    this.#dirty.add(this)
    const view = this.#view
    // checkpoints follow the fleet's counts (a refresh makes the next event one)
    return view === undefined ? checkpoint : view.record(event, policy, kind)
  }

  /** Requests this guard counted itself. */
  get ownRequests(): number {
    return super.requests
  }

  /**
   * Brings the view up to date with these published peer ledgers (`guards[i]` published
   * `peerBytes[i]`; corrupt ones reported and skipped). Only peers whose bytes changed since the
   * last call are decoded in full and unioned into the view (Ledger.refreshView); the others'
   * counters are read again without their sketches. A peer that vanished or whose ledger shrank
   * (it restarted or evicted the principal) cannot be taken out of a union, so the view is then
   * rebuilt from all peers. Returns whether the view changed.
   */
  setPeers(
    guards: readonly string[],
    peerBytes: readonly Buffer[],
    onCorrupt: (cause: unknown) => void,
  ): boolean {
    const last = this.#peers
    let known = 0
    const isFresh: boolean[] = []
    for (let i = 0; i < guards.length; i++) {
      const prev = last?.get(guards[i]!)
      if (prev !== undefined) known++
      isFresh.push(prev === undefined || !prev.bytes.equals(peerBytes[i]!))
    }
    // a peer seen last time and gone now (its state expired): its part must leave the view
    const vanished = last !== undefined && last.size > known
    if (!vanished && !isFresh.includes(true)) return false
    const rebuildKnown = this.#view === undefined || vanished
    let rebuild = rebuildKnown
    const next = new Map<string, PeerState>()
    const decode = (i: number, sketches: boolean): Ledger | undefined => {
      const bytes = peerBytes[i]!
      const guard = guards[i]!
      const prev = last?.get(guard)
      if (prev !== undefined && prev.corrupt && !isFresh[i]) return undefined
      try {
        const l = Ledger.fromBytes(
          new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          this.#policy.windows,
          { sketches },
        )
        if (prev !== undefined && l.requests < prev.requests) rebuild = true
        next.set(guard, { bytes, requests: l.requests, corrupt: false })
        return l
      } catch (cause) {
        // corrupt bytes are reported once, not at every round until they change
        if (isFresh[i]) onCorrupt(cause)
        next.set(guard, { bytes, requests: 0, corrupt: true })
        return undefined
      }
    }
    let peers: Ledger[] = []
    const fresh: Ledger[] = []
    for (let i = 0; i < guards.length; i++) {
      const l = decode(i, rebuild || isFresh[i]!)
      if (l === undefined) continue
      peers.push(l)
      if (isFresh[i]) fresh.push(l)
    }
    this.#peers = next
    if (rebuild && !rebuildKnown) {
      // a shrink showed up while decoding: the unchanged peers are needed in full after all
      peers = []
      for (let i = 0; i < guards.length; i++) {
        const l = decode(i, true)
        if (l !== undefined) peers.push(l)
      }
    }
    const policy = this.#policy
    if (rebuild) {
      if (!peers.some((l) => l.requests > 0)) {
        this.#view = undefined
        return false
      }
      const view = new Ledger()
      view.refreshView(this, peers, policy, [...peers, this])
      this.#view = view
      return true
    }
    this.#view!.refreshView(this, peers, policy, fresh)
    return true
  }

  /** own ∪ peers, or undefined while no peer state is known (readings are then own ones). */
  view(): Ledger | undefined {
    return this.#view
  }
}

/** A peer's published ledger as a FleetLedger's view holds it. */
interface PeerState {
  readonly bytes: Buffer
  /** Its request count (a smaller one later means it restarted or evicted the principal). */
  readonly requests: number
  /** Undecodable: skipped (and reported once) until the bytes change. */
  readonly corrupt: boolean
}

const isOwnActive = (ledger: FleetLedger): boolean => ledger.ownRequests > 0

/**
 * Ledger members that stay this guard's own: bookkeeping (flags, memory, recency) and what is
 * published (record is overridden above, merge, refreshView and toBytes serve what this guard
 * saw).
 */
const OWN_ONLY = new Set([
  'constructor',
  'flags',
  'heapBytes',
  'lastMs',
  'record',
  'merge',
  'refreshView',
  'toBytes',
])
/** Reading methods: answered by the view alone. */
const READERS = new Set(['distinct', 'weighted', 'tierDistinct', 'requestsIn'])
// Every other getter reads the view; every other method (a writer such as a checkpoint request,
// or one added to Ledger later) applies to both, answering with the view's result.
for (const [name, desc] of Object.entries(Object.getOwnPropertyDescriptors(Ledger.prototype))) {
  if (OWN_ONLY.has(name)) continue
  const get = desc.get
  const fn: unknown = desc.value
  if (get !== undefined) {
    Object.defineProperty(FleetLedger.prototype, name, {
      configurable: true,
      get(this: FleetLedger) {
        return get.call(this.view() ?? this)
      },
    })
  } else if (typeof fn === 'function') {
    const method = fn as (...a: unknown[]) => unknown
    const reader = READERS.has(name)
    Object.defineProperty(FleetLedger.prototype, name, {
      configurable: true,
      writable: true,
      value(this: FleetLedger, ...args: unknown[]) {
        const view = this.view()
        if (view === undefined) return method.apply(this, args)
        if (!reader) method.apply(this, args)
        return method.apply(view, args)
      },
    })
  }
}

function isDecision(value: unknown): value is Decision {
  if (typeof value !== 'object' || value === null) return false
  const d = value as Record<string, unknown>
  return (
    typeof d['principal'] === 'string' &&
    typeof d['action'] === 'string' &&
    typeof d['expiresAtMs'] === 'number' &&
    typeof d['timeMs'] === 'number'
  )
}

/**
 * {@link LedgerStore} shared by a fleet through Redis: local ledgers, background sync.
 *
 * @example
 * const store = new RedisLedgerStore({ client: new Redis('redis://127.0.0.1:6379'), policy })
 * const engine = createEngine({ policy, store })
 */
export class RedisLedgerStore implements LedgerStore {
  readonly maxPrincipals: number
  readonly guardId: string
  readonly #policy: CompiledPolicy
  readonly #exchange: RedisFleetExchange
  readonly #touchMs: number
  readonly #keyTtlMs: number
  readonly #maxBatch: number
  readonly #syncTimeoutMs: number
  readonly #mode: StoreErrorMode
  readonly #graceMs: number
  readonly #onError: (error: HarvestGuardError) => void
  readonly #onSync: (round: SyncRound) => void
  readonly #now: () => number
  readonly #ledgers = new Map<Principal, FleetLedger>()
  readonly #decisions = new Map<Principal, Decision>()
  readonly #dirty = new Set<FleetLedger>()
  readonly #pendingDecisions = new Map<Principal, Decision>()
  /** Recently published ledgers, by the round they were last published in (read-only rounds). */
  readonly #recent = new Map<FleetLedger, number>()
  readonly #pullRounds: number
  #timer: ReturnType<typeof setTimeout> | undefined
  readonly #intervalMs: number
  #inFlight: Promise<SyncRound | undefined> | undefined
  #evictions = 0
  #expirations = 0
  #newestMs = 0
  #rounds = 0
  #failedRounds = 0
  #commands = 0
  #lastSyncMs = 0
  #failingSinceMs = 0
  #resync = false
  #closed = false
  // Until the client first connects, rounds that find it still connecting wait instead of failing
  // (it has no offline queue): a guard starting up is not a Redis outage.
  readonly #client: { readonly status: string }
  readonly #createdMs: number
  #connected = false

  constructor(options: RedisLedgerStoreOptions) {
    const max = options.maxPrincipals ?? 1_000_000
    if (!Number.isInteger(max) || max < 1) {
      throw new HarvestGuardError(
        'HG_STORE_OPTIONS',
        `maxPrincipals must be a positive integer, got ${max}`,
      )
    }
    this.maxPrincipals = max
    this.guardId = options.guardId ?? `g${Math.random().toString(36).slice(2, 10)}`
    this.#policy = options.policy
    this.#keyTtlMs = options.keyTtlMs ?? 25 * 3_600_000
    this.#exchange = new RedisFleetExchange({
      client: options.client,
      guardId: this.guardId,
      keyPrefix: options.keyPrefix ?? 'hg:',
      keyTtlMs: this.#keyTtlMs,
    })
    this.#touchMs = options.touchMs ?? 60_000
    this.#maxBatch = Math.max(1, options.maxBatch ?? 10_000)
    this.#pullRounds = Math.max(0, options.pullRounds ?? 3)
    const intervalMs = options.syncIntervalMs ?? 1000
    this.#syncTimeoutMs = options.syncTimeoutMs ?? Math.max(2000, 2 * intervalMs)
    this.#mode = options.onStoreError ?? 'allow'
    this.#graceMs = options.outageGraceMs ?? 3 * Math.max(intervalMs, 1000)
    this.#onError = options.onError ?? (() => {})
    this.#onSync = options.onSync ?? (() => {})
    this.#now = options.now ?? Date.now
    this.#client = options.client
    this.#createdMs = this.#now()
    this.#intervalMs = intervalMs
    if (intervalMs > 0) this.#schedule()
  }

  // --------------------------------------------------------------------------------------------
  // LedgerStore (synchronous, local)

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
    return this.#failClosed() ? Math.max(1, this.#decisions.size) : this.#decisions.size
  }

  get(principal: Principal): Ledger | undefined {
    return this.#ledgers.get(principal)
  }

  getOrCreate(principal: Principal, timeMs: number): Ledger {
    if (timeMs > this.#newestMs) this.#newestMs = timeMs
    const ledgers = this.#ledgers
    let ledger = ledgers.get(principal)
    if (ledger !== undefined) return ledger
    if (ledgers.size >= this.maxPrincipals) this.#evict(timeMs)
    ledger = new FleetLedger(principal, this.#dirty, this.#policy)
    ledgers.set(principal, ledger)
    return ledger
  }

  /** Evicts one ledger as MemoryLedgerStore does (evictLeastRecent), judged by own requests. */
  #evict(timeMs: number): void {
    const evicted = evictLeastRecent(this.#ledgers, timeMs, this.#touchMs, isOwnActive)
    if (evicted === undefined) return
    this.#dirty.delete(evicted)
    this.#evictions++
  }

  delete(principal: Principal): boolean {
    const l = this.#ledgers.get(principal)
    if (l !== undefined) this.#dirty.delete(l)
    return this.#ledgers.delete(principal)
  }

  entries(): IterableIterator<[Principal, Ledger]> {
    return this.#ledgers.entries()
  }

  sweep(timeMs: number, idleMs: number): number {
    // A full scan: the Map is in creation order, not recency (see #evict). Called rarely.
    let dropped = 0
    for (const [principal, ledger] of this.#ledgers) {
      if (timeMs - ledger.lastMs <= idleMs) continue
      this.#ledgers.delete(principal)
      this.#dirty.delete(ledger)
      dropped++
    }
    for (const [principal, d] of this.#decisions) {
      if (d.expiresAtMs <= timeMs) this.#decisions.delete(principal)
    }
    this.#expirations += dropped
    return dropped
  }

  decision(principal: Principal, timeMs: number): Decision | undefined {
    const d = this.#decisions.get(principal)
    if (d !== undefined && d.expiresAtMs <= timeMs) this.#decisions.delete(principal)
    const live = d !== undefined && d.expiresAtMs > timeMs ? d : undefined
    if (this.#failClosed() && (live === undefined || live.action !== 'block')) {
      return this.#outageDecision(principal, timeMs)
    }
    return live
  }

  setDecision(principal: Principal, decision: Decision): void {
    this.#decisions.set(principal, decision)
    this.#pendingDecisions.set(principal, decision)
  }

  *decisions(timeMs: number): IterableIterator<[Principal, Decision]> {
    for (const entry of this.#decisions) if (entry[1].expiresAtMs > timeMs) yield entry
  }

  #failClosed(): boolean {
    return (
      this.#mode === 'block' &&
      this.#failingSinceMs > 0 &&
      this.#now() - this.#failingSinceMs > this.#graceMs
    )
  }

  #outageDecision(principal: Principal, timeMs: number): Decision {
    return {
      principal,
      actor: principal,
      action: 'block',
      score: 0,
      readings: [
        {
          signal: 'store-unavailable',
          value: (this.#now() - this.#failingSinceMs) / 1000,
          contribution: 0,
          note: 'shared ledger store unreachable; onStoreError is block (fail closed)',
        },
      ],
      linked: [],
      timeMs,
      expiresAtMs: timeMs + 1000,
      shadow: false,
    }
  }

  // --------------------------------------------------------------------------------------------
  // Sync (background)

  /** Sync counters. */
  get stats(): RedisStoreStats {
    return {
      rounds: this.#rounds,
      failedRounds: this.#failedRounds,
      commands: this.#commands,
      dirty: this.#dirty.size + (this.#resync ? this.#ledgers.size : 0),
      lastSyncMs: this.#lastSyncMs,
      degraded: this.#failingSinceMs > 0,
    }
  }

  /** True while the client makes its first connection (for at most the sync timeout). */
  #starting(): boolean {
    if (this.#connected) return false
    const status = this.#client.status
    if (status === 'ready') {
      this.#connected = true
      return false
    }
    return (
      (status === 'connecting' || status === 'connect') &&
      this.#now() - this.#createdMs < this.#syncTimeoutMs
    )
  }

  /**
   * Timer rounds are aligned on the wall clock: every guard of a fleet publishes at the same
   * multiples of the interval and reads a quarter interval later, when the others' writes of
   * that round have landed. A peer's state is then at most 1.25 intervals old when read (0.75 on
   * average). Unaligned, each guard on its own phase with one write-and-read round trip, it was
   * up to 2 intervals old (a peer's write could land just after this guard's read, which then
   * waited a whole round). Clocks of a fleet agree within milliseconds (NTP).
   */
  #schedule(): void {
    const interval = this.#intervalMs
    const now = this.#now()
    const boundary = (Math.floor(now / interval) + 1) * interval
    this.#timer = setTimeout(() => {
      if (this.#closed) return
      this.#schedule()
      if (!this.#starting()) void this.#start(boundary + Math.floor(interval / 4))
    }, boundary - now)
    this.#timer.unref?.()
  }

  /**
   * Runs one sync round now, writing and reading in one round trip (the timer's rounds read a
   * little later, see #schedule). Resolves with the round, or undefined when it failed
   * (reported through `onError`) or another round was still running. Never rejects.
   */
  sync(): Promise<SyncRound | undefined> {
    return this.#start(undefined)
  }

  #start(readAtMs: number | undefined): Promise<SyncRound | undefined> {
    if (this.#inFlight !== undefined) return this.#inFlight.then(() => undefined)

    const run = this.#round(readAtMs).finally(() => {
      this.#inFlight = undefined
    })
    this.#inFlight = run
    return run
  }

  #batch(): FleetLedger[] {
    const batch: FleetLedger[] = []
    if (this.#resync) {
      // after an outage: republish everything tracked (Redis may have restarted empty)
      for (const l of this.#ledgers.values()) if (l.ownRequests > 0) this.#dirty.add(l)
      this.#resync = false
    }
    for (const l of this.#dirty) {
      batch.push(l)
      if (batch.length >= this.#maxBatch) break
    }
    for (const l of batch) this.#dirty.delete(l)
    return batch
  }

  /** One round; with `readAtMs`, the writes go first and the reads at that time (own clock). */
  async #round(readAtMs: number | undefined): Promise<SyncRound | undefined> {
    const started = this.#now()
    const batch = this.#batch()
    const decisionPrincipals = new Set<Principal>()
    const entries: FleetEntry[] = []
    const inBatch = new Set<Principal>()
    for (const l of batch) {
      inBatch.add(l.principal)
      const decision = this.#pendingDecisions.get(l.principal)
      if (decision !== undefined) decisionPrincipals.add(l.principal)
      const touch = started - l.touchedAtMs > this.#keyTtlMs / 4
      if (touch) l.touchedAtMs = started
      entries.push({
        principal: l.principal,
        ledger: l.toBytes(),
        ...(decision === undefined ? {} : { decision: JSON.stringify(decision) }),
        touch,
        pull: true,
      })
      this.#recent.delete(l)
      this.#recent.set(l, this.#rounds)
    }
    // principals active lately but not this round: read only
    for (const [l, round] of this.#recent) {
      if (this.#rounds - round > this.#pullRounds || this.#ledgers.get(l.principal) !== l) {
        this.#recent.delete(l)
        continue
      }
      if (inBatch.has(l.principal) || entries.length >= this.#maxBatch) continue
      inBatch.add(l.principal)
      entries.push({ principal: l.principal, pull: true })
    }
    // decisions on principals without a local ledger here (linked identities)
    for (const [principal, decision] of this.#pendingDecisions) {
      if (inBatch.has(principal) || entries.length >= this.#maxBatch) continue
      decisionPrincipals.add(principal)
      entries.push({ principal, decision: JSON.stringify(decision), touch: true, pull: false })
    }
    for (const p of decisionPrincipals) this.#pendingDecisions.delete(p)
    if (entries.length === 0) {
      this.#lastSyncMs = started
      return { principals: 0, commands: 0, merged: 0, adopted: 0, durationMs: 0 }
    }
    const commands = RedisFleetExchange.commands(entries)
    let timer: ReturnType<typeof setTimeout> | undefined
    let waitedMs = 0
    const exchange = async (): Promise<Map<string, FleetPeers>> => {
      if (readAtMs === undefined) return this.#exchange.exchange(entries)
      const writes = entries.filter((e) => e.ledger !== undefined || e.decision !== undefined)
      if (writes.length > 0)
        await this.#exchange.exchange(writes.map((e) => ({ ...e, pull: false })))
      const reads = entries.filter((e) => e.pull)
      const wait = readAtMs - this.#now()
      if (wait > 0 && !this.#closed) {
        waitedMs = wait
        await new Promise((resolve) => setTimeout(resolve, wait).unref?.())
      }
      return this.#exchange.exchange(
        reads.map((e) => ({ principal: e.principal, pull: true, touch: false })),
      )
    }
    try {
      const peers = await Promise.race([
        exchange(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${this.#syncTimeoutMs} ms`)),
            this.#syncTimeoutMs,
          )
          timer.unref?.()
        }),
      ])
      this.#commands += commands
      let merged = 0
      let adopted = 0
      for (const [principal, p] of peers) {
        if (p.ledgers.length > 0 && this.#mergePeers(principal, p.guards, p.ledgers))
          merged += p.ledgers.length
        for (const json of p.decisions) if (this.#adopt(principal, json)) adopted++
      }
      this.#rounds++
      this.#lastSyncMs = this.#now()
      if (this.#failingSinceMs > 0) {
        this.#failingSinceMs = 0
        this.#resync = true
      }
      const round = {
        principals: entries.length,
        commands,
        merged,
        adopted,
        // the wait between writes and reads is not the round's cost
        durationMs: Math.max(0, this.#lastSyncMs - started - waitedMs),
      }
      try {
        this.#onSync(round)
      } catch {
        // a throwing listener must not mark a good round failed
      }
      return round
    } catch (cause) {
      this.#failedRounds++
      if (this.#failingSinceMs === 0) this.#failingSinceMs = started
      // keep everything for the next round: own ledgers are cumulative, decisions re-queued
      for (const l of batch) if (this.#ledgers.get(l.principal) === l) this.#dirty.add(l)
      for (const e of entries) {
        if (e.decision === undefined || this.#pendingDecisions.has(e.principal)) continue
        const d = this.#decisions.get(e.principal)
        if (d !== undefined) this.#pendingDecisions.set(e.principal, d)
      }
      const detail = cause instanceof Error ? cause.message : String(cause)
      try {
        this.#onError(
          new HarvestGuardError(
            STORE_UNAVAILABLE,
            `Redis ledger sync failed (${entries.length} principals kept for the next round): ${detail}`,
            {
              cause,
            },
          ),
        )
      } catch {
        // reporting must not break the syncer
      }
      return undefined
    } finally {
      if (timer !== undefined) clearTimeout(timer)
    }
  }

  /** Replaces the peers' part of the principal's ledger (its own part is untouched). */
  #mergePeers(
    principal: Principal,
    guards: readonly string[],
    peerBytes: readonly Buffer[],
  ): boolean {
    const ledger = this.#ledgers.get(principal)
    if (ledger === undefined) return false
    return ledger.setPeers(guards, peerBytes, (cause) => {
      // a corrupt or foreign-policy peer field is skipped, never fatal
      this.#onError(
        new HarvestGuardError(
          STORE_UNAVAILABLE,
          `peer ledger of ${principal} ignored: ${(cause as Error).message}`,
          { cause },
        ),
      )
    })
  }

  /** Adopts a peer's decision held under `principal` when it is live and stronger than ours. */
  #adopt(principal: Principal, json: string): boolean {
    let d: unknown
    try {
      d = JSON.parse(json)
    } catch {
      return false
    }
    if (!isDecision(d) || d.expiresAtMs <= this.#newestMs) return false
    const mine = this.#decisions.get(principal)
    if (mine !== undefined && mine.expiresAtMs > this.#newestMs) {
      const stronger = actionRank(d.action as Action) > actionRank(mine.action)
      if (!stronger && !(d.action === mine.action && d.expiresAtMs > mine.expiresAtMs)) return false
    }
    // adopted, not re-published: it stays the peer's decision
    this.#decisions.set(principal, d)
    return true
  }

  /** Stops the timer and runs a final round so the fleet sees this guard's last state. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    // a timer round still running may have taken its batch before the last events: one more
    if (this.#inFlight !== undefined) await this.#inFlight
    await this.sync()
  }
}
