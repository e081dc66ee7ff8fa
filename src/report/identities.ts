/**
 * What a report keeps per identity (an address with the account or key it used) while events
 * stream by: requests, active span, distinct records and a coarse series of the cumulative
 * count. Independent of the engine's decisions, so with `--threads 2` the log reader thread
 * keeps it (see `identity-tap.ts`) and hands it over at the end, and the judging thread only
 * runs the engine.
 */
import type { Event } from '../core/index.ts'
import type { Exposure } from '../core/index.ts'
import type { Principal } from '../core/index.ts'
import { RecordCounter, type RecordCounterWire } from './record-counter.ts'

/** One identity's totals. */
export interface Identity {
  readonly key: string
  readonly ip: Principal
  readonly user: Principal | undefined
  readonly others: Set<Principal>
  requests: number
  firstMs: number
  lastMs: number
  readonly records: RecordCounter
  /** [timeMs, cumulative distinct records] at growth steps of ~5%. */
  readonly series: number[]
  nextMark: number
  sinceCheck: number
}

/** An {@link Identity} as plain data (structured-clonable). */
export interface IdentityWire {
  readonly key: string
  readonly ip: Principal
  readonly user: Principal | undefined
  readonly others: readonly Principal[]
  readonly requests: number
  readonly firstMs: number
  readonly lastMs: number
  readonly records: RecordCounterWire
  readonly series: readonly number[]
}

/** Identities by key, fed one event at a time. */
export class IdentityTable {
  readonly #identities = new Map<string, Identity>()
  #lastPrincipals: readonly Principal[] | undefined
  #lastIdentity: Identity | undefined

  /** Number of identities. */
  get size(): number {
    return this.#identities.size
  }

  values(): IterableIterator<Identity> {
    return this.#identities.values()
  }

  /** Accounts one event. */
  addEvent(event: Event): void {
    this.add(event.principals, event.timeMs, event.exposures)
  }

  /** Accounts one request of `principals` at `t` that served `exposures`. */
  add(principals: readonly Principal[], t: number, exposures: readonly Exposure[]): void {
    let id: Identity
    // lists of principals are shared objects per (address, agent, user): one visitor's lines
    // come in runs, so the last identity is the usual hit
    if (principals === this.#lastPrincipals) id = this.#lastIdentity as Identity
    else {
      id = this.#identity(principals)
      this.#lastPrincipals = principals
      this.#lastIdentity = id
    }
    id.requests++
    if (t < id.firstMs) id.firstMs = t
    if (t > id.lastMs) id.lastMs = t
    if (exposures.length === 0) return
    const records = id.records
    for (let i = 0; i < exposures.length; i++) {
      const e = exposures[i] as Exposure
      records.add(e.subject, e.fields)
    }
    // the sketch estimate costs a pass over its registers: look at it every 256 events only
    if (records.exact || ++id.sinceCheck >= 256) {
      id.sinceCheck = 0
      const n = records.total
      if (n >= id.nextMark) {
        id.series.push(t, n)
        id.nextMark = Math.max(n + 1, Math.ceil(n * 1.05))
      }
    }
  }

  #identity(principals: readonly Principal[]): Identity {
    let ip: Principal = ''
    let user: Principal | undefined
    for (const p of principals) {
      if (p.startsWith('ip:')) ip = p
      else if (p.startsWith('account:') || p.startsWith('key:')) user = p
    }
    const key = user === undefined ? ip : `${ip}|${user}`
    let id = this.#identities.get(key)
    if (id === undefined) {
      id = {
        key,
        ip,
        user,
        others: new Set(),
        requests: 0,
        firstMs: Infinity,
        lastMs: -Infinity,
        records: new RecordCounter(),
        series: [],
        nextMark: 1,
        sinceCheck: 0,
      }
      this.#identities.set(key, id)
    }
    for (const p of principals) if (p !== ip && p !== user) id.others.add(p)
    return id
  }

  /** The table as plain data; `transfer` collects the buffers to move rather than copy. */
  toWire(transfer: ArrayBuffer[]): IdentityWire[] {
    const out: IdentityWire[] = []
    for (const id of this.#identities.values())
      out.push({
        key: id.key,
        ip: id.ip,
        user: id.user,
        others: [...id.others],
        requests: id.requests,
        firstMs: id.firstMs,
        lastMs: id.lastMs,
        records: id.records.toWire(transfer),
        series: id.series,
      })
    return out
  }

  /** Rebuilds a table from {@link toWire}'s data. */
  static fromWire(wire: readonly IdentityWire[]): IdentityTable {
    const t = new IdentityTable()
    for (const w of wire)
      t.#identities.set(w.key, {
        key: w.key,
        ip: w.ip,
        user: w.user,
        others: new Set(w.others),
        requests: w.requests,
        firstMs: w.firstMs,
        lastMs: w.lastMs,
        records: RecordCounter.fromWire(w.records),
        series: [...w.series],
        nextMark: Infinity,
        sinceCheck: 0,
      })
    return t
  }
}
