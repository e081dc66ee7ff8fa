/**
 * Collects what a forensic report needs while events stream through the engine: per identity
 * (an address with the account or key it used) requests, active span, distinct records and a
 * coarse series of the cumulative count; and the engine's decisions per actor. At the end,
 * identities are grouped into the engine's actors and each actor gets a verdict.
 */
import { actionRank, type Action, type Decision, type Reading } from '../core/index.ts'
import type { LinkedPrincipal } from '../core/index.ts'
import type { Event } from '../core/index.ts'
import type { FieldClass } from '../core/index.ts'
import type { Principal } from '../core/index.ts'
import { IdentityTable, type Identity } from './identities.ts'
import { RecordCounter } from './record-counter.ts'

/** What an actor is judged to be. */
export const VERDICTS = ['harvester', 'suspect', 'benign'] as const
/** One of {@link VERDICTS}. */
export type Verdict = (typeof VERDICTS)[number]

/** Options of {@link ReportCollector}. */
export interface CollectorOptions {
  /** Weakest action that makes an actor a harvester. @default 'throttle' */
  readonly harvesterAt?: Action | undefined
  /**
   * Weakest action that makes an actor a suspect. `observe` (watch, enforce nothing) is below it
   * by default: the engine observes liberally, and an observed actor is not yet a suspect.
   * @default 'mask'
   */
  readonly suspectAt?: Action | undefined
}

interface ActorDecisions {
  strongest: Decision
  firstFlaggedMs: number
}

/** One actor of the report. */
export interface ActorReport {
  readonly id: string
  readonly verdict: Verdict
  readonly action: Action
  readonly score: number
  readonly principals: Record<'ip' | 'net' | 'account' | 'key' | 'device' | 'session', string[]>
  readonly distinctRecords: number
  readonly byField: Partial<Record<FieldClass, number>>
  readonly requests: number
  readonly firstSeenMs: number
  readonly lastSeenMs: number
  /** Time of the first decision at the verdict's level, NaN when benign. */
  readonly firstFlaggedMs: number
  readonly reasons: readonly Reading[]
  /** Linked identities: through which identity the engine reached each, and why. */
  readonly linked: readonly LinkedPrincipal[]
  /** Flat pairs [t0, n0, t1, n1, …]: cumulative distinct records over time (sum over identities). */
  readonly series: readonly number[]
}

/** Accumulates events and decisions; {@link ReportCollector.actors} builds the actor list. */
export class ReportCollector {
  #identities = new IdentityTable()
  readonly #actorOf = new Map<Principal, string>()
  readonly #decisions = new Map<string, ActorDecisions>()
  readonly #harvesterRank: number
  readonly #suspectRank: number

  constructor(options: CollectorOptions = {}) {
    this.#harvesterRank = actionRank(options.harvesterAt ?? 'throttle')
    this.#suspectRank = actionRank(options.suspectAt ?? 'mask')
  }

  /** Number of identities tracked. */
  get identities(): number {
    return this.#identities.size
  }

  /** Accounts one event. */
  addEvent(event: Event): void {
    this.#identities.addEvent(event)
  }

  /**
   * Uses identities accounted elsewhere (the log reader thread) instead of those from
   * {@link addEvent}.
   */
  useIdentities(table: IdentityTable): void {
    this.#identities = table
  }

  /** Records one engine decision. */
  addDecision(d: Decision): void {
    const actor = this.#actorOf.get(d.principal) ?? d.actor
    this.#actorOf.set(d.principal, actor)
    const rank = actionRank(d.action)
    // A principal linked into several actors over time (the engine's walk grows with its graph)
    // belongs to the one whose decisions are strongest: first come would leave an account
    // that a weak early decision reached outside the harvester that later took it in.
    const assign = (p: Principal): void => {
      const current = this.#actorOf.get(p)
      if (current === actor) return
      if (current !== undefined) {
        const theirs = this.#decisions.get(current)
        if (theirs !== undefined && actionRank(theirs.strongest.action) >= rank) return
      }
      this.#actorOf.set(p, actor)
    }
    assign(d.actor)
    for (const l of d.linked) assign(l.principal)
    const prior = this.#decisions.get(actor)
    const level = rank >= this.#harvesterRank ? 2 : rank >= this.#suspectRank ? 1 : 0
    if (prior === undefined) {
      this.#decisions.set(actor, { strongest: d, firstFlaggedMs: level > 0 ? d.timeMs : NaN })
      return
    }
    const priorRank = actionRank(prior.strongest.action)
    const priorLevel = priorRank >= this.#harvesterRank ? 2 : priorRank >= this.#suspectRank ? 1 : 0
    if (rank > priorRank || (rank === priorRank && d.score > prior.strongest.score)) {
      prior.strongest = d
      // first flagged = the first decision at the level of the final verdict
      if (level > priorLevel) prior.firstFlaggedMs = d.timeMs
    }
  }

  /** The actor of an identity: its account or key's actor, else its address's, else its own. */
  #actorFor(id: Identity): string {
    if (id.user !== undefined) {
      const a = this.#actorOf.get(id.user)
      if (a !== undefined) return a
    }
    const a = this.#actorOf.get(id.ip)
    if (a !== undefined) return a
    for (const p of id.others) {
      if (!p.startsWith('session:')) continue
      const s = this.#actorOf.get(p)
      if (s !== undefined) return s
    }
    return id.user ?? id.ip
  }

  /** Every actor with its verdict, harvesters first, then by distinct records. */
  actors(): ActorReport[] {
    interface Group {
      ids: Identity[]
    }
    const groups = new Map<string, Group>()
    for (const id of this.#identities.values()) {
      const actor = this.#actorFor(id)
      let g = groups.get(actor)
      if (g === undefined) groups.set(actor, (g = { ids: [] }))
      g.ids.push(id)
    }
    const out: ActorReport[] = []
    for (const [actor, g] of groups) {
      const sets = {
        ip: new Set<string>(),
        net: new Set<string>(),
        account: new Set<string>(),
        key: new Set<string>(),
        device: new Set<string>(),
        session: new Set<string>(),
      }
      const add = (p: Principal): void => {
        const colon = p.indexOf(':')
        const kind = p.slice(0, colon) as keyof typeof sets
        sets[kind]?.add(p.slice(colon + 1))
      }
      const records = new RecordCounter()
      let requests = 0
      let first = Infinity
      let last = -Infinity
      for (const id of g.ids) {
        add(id.ip)
        if (id.user !== undefined) add(id.user)
        for (const p of id.others) add(p)
        records.merge(id.records)
        requests += id.requests
        if (id.firstMs < first) first = id.firstMs
        if (id.lastMs > last) last = id.lastMs
      }
      const d = this.#decisions.get(actor)
      const rank = d === undefined ? -1 : actionRank(d.strongest.action)
      const verdict: Verdict =
        rank >= this.#harvesterRank ? 'harvester' : rank >= this.#suspectRank ? 'suspect' : 'benign'
      out.push({
        id: actor,
        verdict,
        action: d?.strongest.action ?? 'allow',
        score: d?.strongest.score ?? 0,
        principals: {
          ip: [...sets.ip],
          net: [...sets.net],
          account: [...sets.account],
          key: [...sets.key],
          device: [...sets.device],
          session: [...sets.session],
        },
        distinctRecords: records.total,
        byField: records.byField(),
        requests,
        firstSeenMs: first,
        lastSeenMs: last,
        firstFlaggedMs: verdict === 'benign' ? NaN : (d?.firstFlaggedMs ?? NaN),
        reasons: d?.strongest.readings ?? [],
        linked: d?.strongest.linked ?? [],
        series: g.ids.length === 1 ? (g.ids[0] as Identity).series : mergeSeries(g.ids),
      })
    }
    const order = { harvester: 0, suspect: 1, benign: 2 }
    out.sort(
      (a, b) =>
        order[a.verdict] - order[b.verdict] ||
        b.distinctRecords - a.distinctRecords ||
        b.requests - a.requests ||
        (a.id < b.id ? -1 : 1),
    )
    return out
  }
}

/** Sums the step series of several identities into one cumulative series. */
function mergeSeries(ids: readonly Identity[]): number[] {
  const points: [number, number, number][] = [] // time, identity index, value
  ids.forEach((id, k) => {
    for (let i = 0; i < id.series.length; i += 2)
      points.push([id.series[i] as number, k, id.series[i + 1] as number])
  })
  points.sort((a, b) => a[0] - b[0])
  const current = Array.from<number>({ length: ids.length }).fill(0)
  let sum = 0
  const out: number[] = []
  for (const [t, k, v] of points) {
    sum += v - (current[k] as number)
    current[k] = v
    const n = out.length
    if (n >= 2 && out[n - 2] === t) out[n - 1] = sum
    else out.push(t, sum)
  }
  // keep the chart light: at most ~400 points
  if (out.length > 800) {
    const step = Math.ceil(out.length / 2 / 400)
    const thin: number[] = []
    for (let i = 0; i < out.length; i += 2 * step) thin.push(out[i] as number, out[i + 1] as number)
    thin.push(out[out.length - 2] as number, out[out.length - 1] as number)
    return thin
  }
  return out
}
