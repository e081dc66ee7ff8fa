/**
 * The Engine: accounts Events into per-principal ledgers and turns ledgers into Decisions.
 * Synchronous and allocation-free on the common path: an event is a few Map lookups, sketch
 * inserts and counter increments per principal; a principal is re-scored only at checkpoints
 * (see Ledger.record), and readings with their notes are built only when a decision is taken.
 * Time comes only from events, so live traffic, log replay and the lab's virtual clock are one
 * code path.
 */
import { type Actor, ActorGraph, type LinkedPrincipal } from './actors.ts'
import { ACTIONS, actionRank, type Action, type Decision, type Reading } from './decision.ts'
import type { Event, ResourceKind } from './event.ts'
import { LEDGER_FLAG, Ledger, principalFacts, type PrincipalFacts } from './ledger.ts'
import { MemoryLedgerStore, type LedgerStore } from './ledger-store.ts'
import {
  actionForScore,
  compilePolicy,
  kindIndex,
  type CompiledPolicy,
  type PolicySettings,
} from './policy.ts'
import { KIND, WEAK_DEVICE_PREFIX, type Principal } from './principal.ts'
import { readSignal, round3, type SignalContext } from './signal.ts'
import { SIGNALS } from './signals/index.ts'
import { noContext as noContextSignal } from './signals/no-context.ts'
import { Windows } from './sketch/index.ts'

/** What the engine says about a request: the action to enforce now, and the decision behind it. */
export interface Verdict {
  /** The enforced action: 'allow' when no live decision applies or the policy runs in shadow. */
  readonly action: Action
  /** The strongest live decision over the request's principals, shadow ones included. */
  readonly decision: Decision | undefined
}

/**
 * What a feeder knows of a request before answering it. Optional: with it, the engine can also
 * judge the request itself, not only the decisions already standing (see {@link Engine.judge}).
 */
export interface PendingRequest {
  /** What the route serves (from the catalogue): `api`, `page`, `asset`… */
  readonly resource: ResourceKind
  /** Whether the request carries a Referer. */
  readonly referer: boolean
  /**
   * Whether the route may disclose records (the catalogue declares some, or bodies are scanned).
   * False (a login, a health check): never judged cold. @default true
   */
  readonly records?: boolean
}

/** Counters of an engine since creation. */
export interface EngineStats {
  /** Events observed. */
  readonly events: number
  /** Events exempt because a principal is allowlisted. */
  readonly allowlisted: number
  /** Decisions taken, by action. */
  readonly decisions: Readonly<Record<Action, number>>
  /** Principals with a ledger now. */
  readonly tracked: number
  /** Ledgers evicted by the store's cap. */
  readonly evictions: number
  /** Ledgers dropped after being idle longer than the longest window. */
  readonly expirations: number
  /** Re-scorings at checkpoints. */
  readonly evaluations: number
  /** Identities in the actor graph. */
  readonly actors: number
  /** Decision listeners that threw (they are isolated from the hot path). */
  readonly listenerErrors: number
}

/** Options of {@link createEngine}. */
export interface EngineOptions {
  /** The policy: compiled, or the parsed `policy:` section (compiled here). */
  readonly policy: CompiledPolicy | PolicySettings
  /** Where ledgers and live decisions live. @default new MemoryLedgerStore({ maxPrincipals }) */
  readonly store?: LedgerStore
  /** Cap on tracked principals for the default store. @default 1_000_000 */
  readonly maxPrincipals?: number
  /** Events between sweeps of idle ledgers (older than the longest window). @default 1_048_576 */
  readonly sweepEvery?: number
}

/** Called for every decision taken (shadow ones included). Must not throw; if it does, counted. */
export type DecisionListener = (decision: Decision) => void

/** The exposure engine. Build with {@link createEngine}. */
export interface Engine {
  readonly policy: CompiledPolicy
  readonly store: LedgerStore
  readonly actors: ActorGraph
  /**
   * Before a response: the action to enforce now for a request with these principals. Given
   * the pending request, a cold API request (no Referer, no partner key) from identities that
   * never loaded a page or an asset is decided before it is answered, as the no-context signal
   * would decide it after: otherwise each fresh address of a swarm takes one response in clear.
   */
  judge(principals: readonly Principal[], timeMs: number, pending?: PendingRequest): Verdict
  /** After a response: accounts the event, re-scores at checkpoints, returns the verdict. */
  observe(event: Event): Verdict
  /** Subscribes to decisions; returns the unsubscribe function. */
  onDecision(listener: DecisionListener): () => void
  /** The live decision that applies to one principal, if any. */
  decisionFor(principal: Principal, timeMs: number): Decision | undefined
  /** Scores a principal now and explains it (every signal with a contribution), without deciding. */
  explain(principal: Principal, timeMs: number): { score: number; readings: Reading[] } | undefined
  readonly stats: EngineStats
}

const ALLOW: Verdict = Object.freeze({ action: 'allow', decision: undefined })
const NO_CONTEXT = noContextSignal.index
const KIND_KEY = KIND.key
const KIND_NET = KIND.net
const KIND_DEVICE = KIND.device
// The verdict of a decision this engine took, kept on the decision itself (non-enumerable, so
// JSON, journals and deep equality do not see it): judging a request blocked by a live decision
// looked the verdict up in a WeakMap, 3% of the engine's time in bench/engine.bench.ts.
const VERDICT = Symbol('verdict')

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return x ^ (x >>> 16)
}
const RANK_BLOCK = ACTIONS.length - 1

/** What the engine remembers of a frozen principal list (see `resolutions` in createEngine). */
interface Resolution {
  /** The store's generation when the ledgers were looked up. */
  generation: number
  /** Ledger per principal (undefined: a string of no known kind). */
  readonly ledgers: (Ledger | undefined)[]
  readonly kinds: Int8Array
  /** Whether an owner identity (account, key, session) is among the principals. */
  readonly owners: boolean
  readonly facts: PrincipalFacts
}

/**
 * Kind index of a principal the engine keeps a ledger for; -1 for strings of no kind and for a
 * weak device (`device:ua-…`, a log's user agent): a browser build thousands of people share
 * says nothing about who asked, so its ledger only ever added up everyone's records into
 * decisions on the build that no actor, report or judged request could use.
 */
function accountedKind(principal: Principal): number {
  const kind = kindIndex(principal)
  return kind === KIND_DEVICE && principal.startsWith(WEAK_DEVICE_PREFIX) ? -1 : kind
}

/** Whether an actor is the one a decision names, with the same linked identities. */
function sameActor(actor: Actor, decision: Decision): boolean {
  const linked = decision.linked
  if (actor.id !== decision.actor || actor.linked.length !== linked.length) return false
  if (linked.length === 0) return true
  const listed = new Set<Principal>()
  for (const l of linked) listed.add(l.principal)
  for (const l of actor.linked) if (!listed.has(l.principal)) return false
  return true
}

function isCompiled(p: CompiledPolicy | PolicySettings): p is CompiledPolicy {
  return (p as CompiledPolicy).windows instanceof Windows
}

/**
 * Creates an engine.
 * @example
 * const engine = createEngine({ policy: policySchema.parse({}) })
 * const verdict = engine.observe(event)
 * if (verdict.action === 'block') reply(403)
 */
export function createEngine(options: EngineOptions): Engine {
  const policy = isCompiled(options.policy) ? options.policy : compilePolicy(options.policy)
  const settings = policy.settings
  const store =
    options.store ?? new MemoryLedgerStore({ maxPrincipals: options.maxPrincipals ?? 1_000_000 })
  const actorSettings = settings.actors
  const actors = new ActorGraph({
    maxNodes: actorSettings.maxNodes,
    maxLinks: actorSettings.maxLinks,
    sharedAfter: actorSettings.sharedAfter,
    deviceSharedAfter: actorSettings.deviceSharedAfter,
  })
  const linking = actorSettings.enabled
  const hasAllowlist =
    settings.allowlist.networks.length > 0 || settings.allowlist.principals.length > 0
  const sweepEvery = options.sweepEvery ?? 1_048_576
  const longestMs = policy.windows.specs[policy.windows.specs.length - 1]!.windowMs
  const escalation = settings.escalation
  const escalateFrom = actionRank(escalation.from)
  const classes = policy.classes
  const listeners: DecisionListener[] = []
  const verdicts = new WeakMap<Decision, Verdict>()
  const decisionsBy: Record<Action, number> = {
    allow: 0,
    observe: 0,
    mask: 0,
    throttle: 0,
    challenge: 0,
    block: 0,
  }
  let events = 0
  let allowlisted = 0
  let evaluations = 0
  let listenerErrors = 0
  // Reused context for signals: the engine is single-threaded and synchronous.
  const ctx = { policy, kind: 0, timeMs: 0 }

  function score(ledger: Ledger, kind: number, timeMs: number): number {
    ctx.kind = kind
    ctx.timeMs = timeMs
    const weights = classes[kind]!.signalWeights
    let total = 0
    for (let i = 0; i < SIGNALS.length; i++) {
      const w = weights[i]!
      if (w === 0) continue
      const p = SIGNALS[i]!.points(ledger, ctx as SignalContext)
      if (p > 0) total += p * w
    }
    return total
  }

  function readings(ledger: Ledger, kind: number, timeMs: number): Reading[] {
    ctx.kind = kind
    ctx.timeMs = timeMs
    const weights = classes[kind]!.signalWeights
    const out: Reading[] = []
    for (let i = 0; i < SIGNALS.length; i++) {
      const signal = SIGNALS[i]!
      const p = signal.points(ledger, ctx as SignalContext) * weights[i]!
      if (p > 0) out.push(readSignal(signal, ledger, ctx as SignalContext, p))
    }
    return out.toSorted((a, b) => b.contribution - a.contribution)
  }

  function verdictOf(decision: Decision): Verdict {
    let v = (decision as { [VERDICT]?: Verdict })[VERDICT]
    if (v !== undefined && v.decision === decision) return v
    v = verdicts.get(decision)
    if (v === undefined) {
      v = Object.freeze({ action: decision.shadow ? 'allow' : decision.action, decision })
      verdicts.set(decision, v)
    }
    return v
  }

  // The ledgers of the event being observed, by principal index (undefined: unknown kind), so
  // that judging it looks decisions up only where a ledger carries LEDGER_FLAG.decided.
  const seen: (Ledger | undefined)[] = []
  // Kind indexes of the request being observed.
  const KINDS = new Int8Array(16)
  const marksDecided = store.marksDecided === true
  // The ledgers of frozen principal lists: a feeder that reuses one list per identity (the log
  // reader) freezes it, so its contents cannot change and the ledgers found for it stay
  // right while the store's generation does (no ledger left the store). Looking each principal
  // up in the store's Map was ~18% of the engine's time in bench/engine.bench.ts, mostly cache
  // misses on the Map and the principal strings. Only stores with a generation qualify.
  const resolutions =
    store.generation === undefined ? undefined : new WeakMap<readonly Principal[], Resolution>()

  /**
   * The strongest live decision over the principals. With `flaggedOnly` (the event just
   * observed), principals whose ledger in `seen` lacks LEDGER_FLAG.decided are not looked up.
   */
  function judgeLive(
    principals: readonly Principal[],
    timeMs: number,
    flaggedOnly = false,
  ): Verdict {
    if (store.decisionCount === 0) return ALLOW
    let best: Decision | undefined
    let bestRank = -1
    for (let i = 0; i < principals.length; i++) {
      if (flaggedOnly) {
        const ledger = seen[i]
        if (ledger !== undefined && (ledger.flags & LEDGER_FLAG.decided) === 0) continue
      }
      const d = store.decision(principals[i]!, timeMs)
      if (d === undefined) continue
      const r = actionRank(d.action)
      if (r > bestRank || (r === bestRank && best !== undefined && best.shadow && !d.shadow)) {
        best = d
        bestRank = r
      }
    }
    return best === undefined ? ALLOW : verdictOf(best)
  }

  function judge(
    principals: readonly Principal[],
    timeMs: number,
    pending?: PendingRequest,
  ): Verdict {
    const live = judgeLive(principals, timeMs)
    if (
      pending === undefined ||
      pending.resource !== 'api' ||
      pending.referer ||
      pending.records === false
    )
      return live
    // A live decision (shadow ones too) already speaks for the request.
    if (live.decision !== undefined) return live
    return judgeCold(principals, timeMs) ?? live
  }

  const noContext = settings.signals['no-context']
  const coldNote =
    'a cold API request (no Referer, no partner key) from identities that never loaded a page or an asset: decided before answering'

  /** The decision for a cold API request, if every judged identity of it is cold. */
  function judgeCold(principals: readonly Principal[], timeMs: number): Verdict | undefined {
    if (noContext.minRecords > 1) return undefined
    let points = 0
    let first = -1
    for (let i = 0; i < principals.length; i++) {
      const kind = accountedKind(principals[i]!)
      if (kind < 0) continue
      if (kind === KIND_KEY) return undefined
      const w = classes[kind]!.signalWeights[NO_CONTEXT]!
      if (w === 0) continue
      const ledger = store.get(principals[i]!)
      if (ledger !== undefined && ledger.pages + ledger.assets > 0) return undefined
      if (first < 0) first = i
      if (noContext.points * w > points) points = noContext.points * w
    }
    if (first < 0) return undefined
    const principal = principals[first]!
    const rank = Math.min(
      actionRank(actionForScore(policy, points)),
      classes[accountedKind(principal)]!.maxRank,
    )
    if (rank < actionRank('mask')) return undefined
    const action = ACTIONS[rank]!
    // Created now (observe would next): it counts this decision among the lapses to come.
    const ledger = store.getOrCreate(principal, timeMs)
    const lapses = ledger.lapse()
    const decision: Decision = Object.freeze({
      principal,
      actor: principal,
      action,
      score: round3(points),
      readings: Object.freeze([
        Object.freeze({
          signal: 'no-context',
          value: ledger.bareRecords,
          contribution: round3(points),
          note: coldNote,
        }),
      ]),
      linked: Object.freeze([]),
      timeMs,
      expiresAtMs: timeMs + policy.ttlMs[rank]! * 2 ** Math.min(lapses, 5),
      shadow: policy.shadow,
    })
    // Stored on the first cold identity only (the address, as feeders list it): a fingerprint
    // or subnet that people will share later must not carry it, and the swarm's next fresh
    // address is cold again and decided on its own.
    store.setDecision(principal, decision)
    emit(decision)
    return verdictOf(decision)
  }

  function emit(decision: Decision): void {
    decisionsBy[decision.action]++
    for (const listener of listeners) {
      try {
        listener(decision)
      } catch {
        listenerErrors++
      }
    }
  }

  // When a live decision last reached its actor's identities without being renewed.
  const reached = new WeakMap<Decision, number>()

  function decide(principal: Principal, ledger: Ledger, kind: number, timeMs: number): void {
    evaluations++
    const total = score(ledger, kind, timeMs)
    let action = actionForScore(policy, total)
    if (action === 'allow') return
    const live = store.decision(principal, timeMs)
    let rank = actionRank(action)
    // A class may cap its decisions (a subnet's neighbours did nothing: mask at most). Capped
    // before the live decision is consulted, so a capped class re-flagged at its cap is a
    // renewal (escalation rules below), not a fresh decision at every evaluation.
    const maxRank = classes[kind]!.maxRank
    if (rank > maxRank) {
      rank = maxRank
      action = ACTIONS[rank]!
    }
    // The actor, when the renewal check below already walked it.
    let walked: Actor | undefined
    if (live !== undefined) {
      const liveRank = actionRank(live.action)
      const own = live.principal === principal
      if (rank <= liveRank) {
        // Re-flagged while decided: escalate a step once the live decision has stood a while.
        const standing = timeMs - live.timeMs >= escalation.after
        if (!own || !standing) return
        if (
          escalation.enabled &&
          rank >= escalateFrom &&
          liveRank < Math.min(RANK_BLOCK, maxRank)
        ) {
          rank = liveRank + 1
          action = ACTIONS[rank]!
        } else {
          // A renewal; never above the cap (a decision stored before the cap was configured).
          // Renewed only once the live decision has used half its lifetime, or when its actor
          // reaches identities it does not list: renewing at every re-flag (each escalation.after)
          // journaled ~144 identical rows a day per blocked principal, 16% of the lines of a
          // harvested log. Until then the live decision keeps reaching the actor's identities.
          const life = live.expiresAtMs - live.timeMs
          if (timeMs - live.timeMs < life / 2) {
            // Reaching the actor (a walk over its links) at most once per escalation.after,
            // as often as the renewals did.
            const last = reached.get(live)
            if (last !== undefined && timeMs - last < escalation.after) return
            reached.set(live, timeMs)
            walked = linking ? actors.actorOf(principal) : undefined
            if (walked === undefined || sameActor(walked, live)) {
              if (walked !== undefined) reach(walked.linked, live, liveRank, timeMs)
              ledger.recheckAt(Math.min(timeMs + escalation.after, live.timeMs + life / 2))
              return
            }
          }
          rank = Math.min(liveRank, maxRank)
          action = ACTIONS[rank]!
        }
      }
    }
    const lapses =
      live === undefined || live.principal !== principal ? ledger.lapse() : ledger.lapses
    const actor = walked ?? (linking ? actors.actorOf(principal) : { id: principal, linked: [] })
    const decision: Decision = {
      principal,
      actor: actor.id,
      action,
      score: round3(total),
      readings: Object.freeze(readings(ledger, kind, timeMs)),
      linked: Object.freeze(actor.linked),
      timeMs,
      // Each return after a lapsed decision doubles the lifetime (at most 32x the action's
      // ttl): a fixed lifetime is a schedule a harvester can wait out and come back to.
      expiresAtMs: timeMs + policy.ttlMs[rank]! * 2 ** Math.min(lapses, 5),
      shadow: policy.shadow,
    }
    Object.defineProperty(decision, VERDICT, {
      value: Object.freeze({ action: decision.shadow ? 'allow' : decision.action, decision }),
    })
    Object.freeze(decision)
    store.setDecision(principal, decision)
    // Re-judge at the first request once the decision has stood long enough to escalate.
    ledger.recheckAt(timeMs + escalation.after)
    reach(actor.linked, decision, rank, timeMs)
    emit(decision)
  }

  /** Stores `decision` (of rank `rank`) on each linked identity that holds nothing as strong. */
  function reach(
    linked: readonly LinkedPrincipal[],
    decision: Decision,
    rank: number,
    timeMs: number,
  ): void {
    for (const l of linked) {
      const theirs = store.decision(l.principal, timeMs)
      if (theirs === undefined || actionRank(theirs.action) < rank) {
        store.setDecision(l.principal, decision)
      }
    }
  }

  /**
   * Actor linking, skipped for an owner identity (account, key, session) whose request carries
   * the same other identities as the last one it was linked with: linking would change nothing
   * (ActorGraph.holdsLinks checked it then, and an owner's links change only on its own requests
   * or when the graph forgets identities, which the signature includes). Looking the owner up in
   * the graph and scanning its partners on every request was ~10% of the engine's time in
   * bench/engine.bench.ts. The signature is a 30-bit sum of the other ledgers' mixed serials: a
   * different set with the same sum (about 1 in 2^30) skips the links of that one request.
   */
  function link(principals: readonly Principal[], kinds: Int8Array): void {
    const n = principals.length
    const forgotten = actors.forgotten
    let stale = false
    for (let i = 0; i < n; i++) {
      const k = kinds[i]!
      if (k < 2 || k > 4) continue
      const sig = linkSignature(kinds, i, n, forgotten)
      if (seen[i]!.linkSig !== sig) stale = true
    }
    if (!stale) return
    actors.observe(principals, kinds)
    const after = actors.forgotten
    for (let i = 0; i < n; i++) {
      const k = kinds[i]!
      if (k < 2 || k > 4) continue
      seen[i]!.linkSig = actors.holdsLinks(principals, kinds, i)
        ? linkSignature(kinds, i, n, after)
        : 0
    }
  }

  function linkSignature(kinds: Int8Array, i: number, n: number, forgotten: number): number {
    let h = Math.imul(forgotten + 1, 0x9e3779b1)
    for (let j = 0; j < n; j++) {
      const k = kinds[j]!
      if (j === i || k < 0 || k === KIND_NET) continue
      h = (h + mix32(seen[j]!.serial)) | 0
    }
    h &= 0x3fffffff
    return h === 0 ? 1 : h
  }

  /** What the engine keeps of a frozen principal list; its ledgers not yet looked up. */
  function resolutionOf(principals: readonly Principal[]): Resolution {
    let r = resolutions!.get(principals)
    if (r !== undefined) return r
    const n = principals.length
    const kinds = new Int8Array(n)
    let owners = false
    for (let i = 0; i < n; i++) {
      const kind = accountedKind(principals[i]!)
      kinds[i] = kind
      if (kind >= 2 && kind <= 4) owners = true
    }
    r = {
      generation: -1,
      ledgers: Array.from<Ledger | undefined>({ length: n }),
      kinds,
      owners,
      facts: principalFacts(principals),
    }
    resolutions!.set(principals, r)
    return r
  }

  function observe(event: Event): Verdict {
    events++
    const t = event.timeMs
    const principals = event.principals
    const n = principals.length
    if (hasAllowlist) {
      for (let i = 0; i < n; i++) {
        const p = principals[i]!
        const ledger = store.getOrCreate(p, t)
        let flags = ledger.flags
        if ((flags & LEDGER_FLAG.checked) === 0) {
          flags |= LEDGER_FLAG.checked
          if (policy.isAllowlisted(p)) flags |= LEDGER_FLAG.allowlisted
          ledger.flags = flags
        }
        if ((flags & LEDGER_FLAG.allowlisted) !== 0) {
          allowlisted++
          return ALLOW
        }
      }
    }
    let owners = false
    const evictions = store.evictions
    let kinds: Int8Array = n <= KINDS.length ? KINDS : new Int8Array(n)
    const resolution =
      resolutions !== undefined && Object.isFrozen(principals)
        ? resolutionOf(principals)
        : undefined
    const generation = store.generation
    try {
      if (resolution !== undefined && resolution.generation === generation) {
        kinds = resolution.kinds
        owners = resolution.owners
        const ledgers = resolution.ledgers
        Ledger.prepare(principals, event.exposures, resolution.facts)
        for (let i = 0; i < n; i++) {
          const ledger = ledgers[i]
          seen[i] = ledger
          if (ledger !== undefined && ledger.record(event, policy, kinds[i]!)) {
            decide(principals[i]!, ledger, kinds[i]!, t)
          }
        }
      } else {
        // Looked up one by one, each recorded before the next is created (creating one may
        // evict another, and eviction spares ledgers active just now): a frozen list's ledgers
        // are kept from here, and kept only if no ledger left the store meanwhile.
        Ledger.prepare(principals, event.exposures, resolution?.facts)
        for (let i = 0; i < n; i++) {
          const p = principals[i]!
          const kind = accountedKind(p)
          kinds[i] = kind
          seen[i] = undefined
          if (kind < 0) continue
          if (kind >= 2 && kind <= 4) owners = true
          const ledger = store.getOrCreate(p, t)
          seen[i] = ledger
          if (resolution !== undefined) resolution.ledgers[i] = ledger
          if (ledger.record(event, policy, kind)) decide(p, ledger, kind, t)
        }
        if (resolution !== undefined) {
          resolution.generation = store.generation === generation ? generation! : -1
        }
      }
    } finally {
      Ledger.unprepare()
    }
    if (owners && linking) link(principals, kinds)
    if (events % sweepEvery === 0) store.sweep(t, longestMs)
    // A ledger evicted while this event was accounted no longer gets the flag: look up all.
    return marksDecided && store.evictions === evictions
      ? judgeLive(principals, t, true)
      : judgeLive(principals, t)
  }

  return {
    policy,
    store,
    actors,
    judge,
    observe,
    onDecision(listener) {
      listeners.push(listener)
      return () => {
        const i = listeners.indexOf(listener)
        if (i >= 0) listeners.splice(i, 1)
      }
    },
    decisionFor(principal, timeMs) {
      return store.decision(principal, timeMs)
    },
    explain(principal, timeMs) {
      const ledger = store.get(principal)
      const kind = accountedKind(principal)
      if (ledger === undefined || kind < 0) return undefined
      return {
        score: round3(score(ledger, kind, timeMs)),
        readings: readings(ledger, kind, timeMs),
      }
    },
    get stats(): EngineStats {
      return {
        events,
        allowlisted,
        decisions: { ...decisionsBy },
        tracked: store.size,
        evictions: store.evictions,
        expirations: store.expirations,
        evaluations,
        actors: actors.size,
        listenerErrors,
      }
    },
  }
}
