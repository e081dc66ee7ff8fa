import {
  type Catalogue,
  type Action,
  type Decision,
  type Event,
  digestHex,
  type Exposure,
  type FieldMask,
  type Keyer,
  type PendingRequest,
  type Principal,
  type RouteMatch,
} from '../core/index.ts'
import { computeAnomalies, createUserAgentFacts } from '../http/index.ts'
import { createExposureCache, exposeResponse, memoKeyer } from './exposures.ts'
import {
  handleShopRequest,
  type ShopRequest,
  type ShopResponse,
  type ShopState,
} from './shop/handlers.ts'
import type { ActorKind, Outcome, Profile, SimActor, Step } from './sim/common.ts'

/**
 * The virtual clock: every actor's next step sits in a time-ordered heap; the earliest is taken,
 * judged by the engine, answered by the shop's own handlers (unless refused), turned into an
 * Event with the catalogue's exposures and observed. Eight months of traffic run in minutes
 * because nothing waits and nothing goes over a socket.
 */

/** The engine as the lab drives it (structurally the Engine of src/core/engine.ts). */
export interface LabEngine {
  judge(
    principals: readonly Principal[],
    timeMs: number,
    pending?: PendingRequest,
  ): { readonly action: Action; readonly decision: Decision | undefined }
  observe(event: Event): { readonly action: Action; readonly decision: Decision | undefined }
}

/** What happened to one actor over a run. */
export interface ActorRecord {
  readonly id: string
  readonly profile: Profile
  readonly kind: ActorKind
  requests: number
  /** Requests refused (block, challenge, throttle). */
  refused: number
  /** Requests answered with protected fields masked. */
  masked: number
  /** Distinct records whose protected fields reached it in the clear (adversaries only). */
  readonly leaked: Set<number>
  firstMs: number
  lastMs: number
  /** Start of the current refused-or-masked stretch after its last leak, -1 when leaking. */
  stoppedAtMs: number
  /** Bit set of actions ever enforced on it: 1 block, 2 challenge, 4 throttle, 8 mask. */
  actions: number
  /** The decision that refused or masked it first (its reasons explain the stop). */
  firstDecision: Decision | undefined
  /** Identities used (ground truth): IPs, account usernames, partner key IDs. */
  readonly ips: Set<string>
  readonly accounts: Set<string>
  readonly keys: Set<string>
}

/** Bits of {@link ActorRecord.actions}. */
export const ACTION_BIT = Object.freeze({ block: 1, challenge: 2, throttle: 4, mask: 8 } as const)

/** What the runner hands a sink for every exchange (log writers). */
export interface Exchange {
  readonly actor: number
  readonly step: Step
  readonly response: ShopResponse
  /** The Event the engine saw; undefined in `lean` runs. */
  readonly event: Event | undefined
}

/** Options of {@link runVirtual}. */
export interface VirtualRunOptions {
  readonly state: ShopState
  readonly actors: readonly SimActor[]
  readonly catalogue: Catalogue
  readonly keyer: Keyer
  /** The guard; undefined runs the shop unguarded (baseline, log generation). */
  readonly engine?: LabEngine | undefined
  /** Field classes the policy protects (leakage and masking). */
  readonly protectedMask: FieldMask
  readonly endMs: number
  /** Track distinct leaked records per adversary. @default true */
  readonly trackLeakage?: boolean
  /**
   * Skip exposures and Events (no engine): only the shop's answers, for log generation, where
   * speed is the point. @default false
   */
  readonly lean?: boolean
  /** Called for every exchange, in time order. */
  readonly onExchange?: (exchange: Exchange) => void
  /** Called every ~1 virtual hour with the current time (progress). */
  readonly onProgress?: (timeMs: number, events: number) => void
}

/** The result of {@link runVirtual}. */
export interface VirtualRunResult {
  readonly actors: readonly ActorRecord[]
  readonly events: number
  readonly wallMs: number
}

const REFUSED = new Set<Action>(['block', 'challenge', 'throttle'])
const NO_EXPOSURES: Exposure[] = []

/** Runs actors on the virtual clock until `endMs` or until every actor is done. */
export function runVirtual(options: VirtualRunOptions): VirtualRunResult {
  const started = performance.now()
  const { state, actors, catalogue, engine, protectedMask, endMs } = options
  const keyer = memoKeyer(options.keyer)
  const trackLeakage = options.trackLeakage ?? true
  const lean = options.lean ?? false
  const expose = createExposureCache(catalogue, keyer)
  const exposeUncached = exposeResponse.bind(undefined, catalogue, keyer)
  const agentFacts = createUserAgentFacts()
  const records: ActorRecord[] = actors.map((a) => ({
    id: a.id,
    profile: a.profile,
    kind: a.kind,
    requests: 0,
    refused: 0,
    masked: 0,
    leaked: new Set<number>(),
    firstMs: -1,
    lastMs: -1,
    stoppedAtMs: -1,
    actions: 0,
    firstDecision: undefined,
    ips: new Set<string>(),
    accounts: new Set<string>(),
    keys: new Set<string>(),
  }))
  const principalMemo = new Map<string, Principal>()
  const principal = (kind: 'account' | 'key' | 'session' | 'device', raw: string): Principal => {
    const k = `${kind}\u0000${raw}`
    let p = principalMemo.get(k)
    if (p === undefined) {
      if (principalMemo.size > 2_000_000) principalMemo.clear()
      p = `${kind}:${digestHex(keyer.digest(kind, raw))}`
      principalMemo.set(k, p)
    }
    return p
  }
  const ipMemo = new Map<string, readonly [Principal, Principal]>()
  const ipPrincipals = (ip: string): readonly [Principal, Principal] => {
    let p = ipMemo.get(ip)
    if (p === undefined) {
      p = [`ip:${ip}`, `net:${ip.slice(0, ip.lastIndexOf('.'))}.0/24`]
      ipMemo.set(ip, p)
    }
    return p
  }
  // Client facts are fixed per (stack, user agent, language): memoise device principal and
  // anomaly bits in nested maps keyed by the step's own strings (no key building per event).
  const clientMemo = new Map<
    string,
    Map<string, Map<string, { device: Principal; anomalies: number }>>
  >()
  const clientFacts = (s: Step): { device: Principal; anomalies: number } => {
    let byUa = clientMemo.get(s.stack)
    if (byUa === undefined) clientMemo.set(s.stack, (byUa = new Map()))
    let byLang = byUa.get(s.userAgent)
    if (byLang === undefined) byUa.set(s.userAgent, (byLang = new Map()))
    let facts = byLang.get(s.acceptLanguage)
    if (facts === undefined) {
      const headers: Record<string, string> = {}
      if (s.userAgent !== '') headers['user-agent'] = s.userAgent
      if (s.acceptLanguage !== '') headers['accept-language'] = s.acceptLanguage
      facts = {
        device: principal('device', `${s.stack}|${s.userAgent}|${s.acceptLanguage}`),
        anomalies: computeAnomalies('GET', headers, agentFacts, false),
      }
      byLang.set(s.acceptLanguage, facts)
    }
    return facts
  }

  const heap = new MinHeap(actors.length)
  const pending: (Step | undefined)[] = Array.from({ length: actors.length }, () => undefined)
  for (let a = 0; a < actors.length; a++) {
    const first = (actors[a] as SimActor).script.next()
    if (!first.done && first.value.atMs < endMs) {
      pending[a] = first.value
      heap.push(first.value.atMs, a)
    }
  }

  let events = 0
  let clock = 0
  let nextProgress = 0
  while (heap.size > 0) {
    const a = heap.pop()
    const s = pending[a] as Step
    const rec = records[a] as ActorRecord
    const t = s.atMs > clock ? s.atMs : clock
    clock = t
    if (t >= nextProgress) {
      options.onProgress?.(t, events)
      nextProgress = t + 3_600_000
    }
    // Principals known before the response: address, subnet, device, session, account, key.
    const principals: Principal[] = lean ? [] : [...ipPrincipals(s.ip), clientFacts(s).device]
    let account = ''
    if (s.sid !== '') {
      account = state.session(s.sid)?.username ?? ''
      if (!lean) {
        principals.push(principal('session', s.sid))
        if (account !== '') principals.push(principal('account', account))
      }
    }
    let keyId = ''
    if (s.apiKey !== '') {
      const p = state.partnerOfKey(s.apiKey)
      if (p >= 0) {
        keyId = state.population.partner(p).keyId
        if (!lean) principals.push(principal('key', s.apiKey))
      }
    }
    // What the guard knows before answering: the route, whether it discloses records, whether
    // a Referer came.
    let verdict: ReturnType<LabEngine['judge']> | undefined
    let match: RouteMatch | undefined
    if (engine !== undefined && !lean) {
      match = catalogue.match(s.method, s.path)
      const route = match?.route
      verdict =
        route === undefined
          ? engine.judge(principals, t)
          : engine.judge(principals, t, {
              resource: route.resource,
              referer: s.referer !== '',
              records: route.pathRules.length + route.bodyRules.length > 0,
            })
    }
    const action: Action = verdict === undefined ? 'allow' : verdict.action
    const refused = REFUSED.has(action)
    const request: ShopRequest = {
      method: s.method,
      path: s.path,
      headers: headersOf(s),
      body: s.body ?? '',
    }
    let response: ShopResponse
    if (refused) {
      const status = action === 'throttle' ? 429 : 403
      response = {
        status,
        headers: { 'content-type': 'application/json' },
        body: '',
        data: undefined,
        user: account === '' ? (keyId === '' ? '-' : keyId) : account,
        account,
        keyId,
      }
    } else {
      response = handleShopRequest(state, request, action === 'mask' ? { mask: true } : {})
      if (response.account !== '' && response.account !== account) {
        account = response.account
        if (!lean) principals.push(principal('account', account))
      }
    }
    let event: Event | undefined
    let exposures: Exposure[] = NO_EXPOSURES
    if (!lean) {
      const exposed = (action === 'mask' ? exposeUncached : expose)(
        s.method,
        s.path,
        response.status,
        response.data,
        account !== '',
        match,
      )
      exposures = exposed.exposures
      if (action === 'mask' && exposures.length > 0) {
        exposures = exposures
          .map((e) => ({ subject: e.subject, fields: e.fields & ~protectedMask }))
          .filter((e) => e.fields !== 0)
      }
      event = {
        timeMs: t,
        method: s.method,
        route: exposed.route,
        path: s.path,
        status: response.status,
        bytes: 0,
        resource: exposed.resource,
        principals,
        exposures,
        client: {
          ip: s.ip,
          userAgent: s.userAgent,
          referer: s.referer !== '',
          anomalies: clientFacts(s).anomalies,
        },
        ordinal: exposed.ordinal,
      }
      engine?.observe(event)
    }
    events++
    options.onExchange?.({ actor: a, step: s, response, event })

    // Bookkeeping for the scoreboard and the ground truth.
    rec.requests++
    if (rec.firstMs < 0) rec.firstMs = t
    rec.lastMs = t
    rec.ips.add(s.ip)
    if (account !== '') rec.accounts.add(account)
    if (keyId !== '') rec.keys.add(keyId)
    if (action !== 'allow' && action !== 'observe') {
      rec.actions |= ACTION_BIT[action]
      if (rec.firstDecision === undefined) rec.firstDecision = verdict?.decision
      if (refused) rec.refused++
      else rec.masked++
      if (rec.stoppedAtMs < 0) rec.stoppedAtMs = t
    }
    if (trackLeakage && rec.kind === 'adversary') {
      let leaked = false
      for (const e of exposures) {
        if ((e.fields & protectedMask) !== 0) {
          rec.leaked.add(e.subject)
          leaked = true
        }
      }
      if (leaked) rec.stoppedAtMs = -1
    }

    const setCookie = response.headers['set-cookie']
    const outcome: Outcome = {
      status: response.status,
      refused,
      data: response.data,
      sid: setCookie === undefined ? '' : setCookie.slice(4, setCookie.indexOf(';')),
    }
    const next = (actors[a] as SimActor).script.next(outcome)
    if (!next.done && next.value.atMs < endMs) {
      pending[a] = next.value
      // A script that goes back in time is clamped when taken: the clock stays monotonic.
      heap.push(next.value.atMs, a)
    } else pending[a] = undefined
  }
  return { actors: records, events, wallMs: performance.now() - started }
}

function headersOf(s: Step): Record<string, string | undefined> {
  const h: Record<string, string | undefined> = { 'user-agent': s.userAgent }
  if (s.acceptLanguage !== '') h['accept-language'] = s.acceptLanguage
  if (s.referer !== '') h['referer'] = s.referer
  if (s.sid !== '') h['cookie'] = `sid=${s.sid}`
  if (s.apiKey !== '') h['authorization'] = `Bearer ${s.apiKey}`
  if (s.body !== undefined) h['content-type'] = 'application/json'
  return h
}

/** A binary min-heap of (time, actor) in parallel typed arrays: no object per entry. */
class MinHeap {
  readonly #time: Float64Array
  readonly #actor: Int32Array
  size = 0
  constructor(capacity: number) {
    this.#time = new Float64Array(Math.max(1, capacity))
    this.#actor = new Int32Array(Math.max(1, capacity))
  }
  push(t: number, a: number): void {
    const time = this.#time
    const actor = this.#actor
    let i = this.size++
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((time[parent] as number) <= t) break
      time[i] = time[parent] as number
      actor[i] = actor[parent] as number
      i = parent
    }
    time[i] = t
    actor[i] = a
  }
  pop(): number {
    const time = this.#time
    const actor = this.#actor
    const top = actor[0] as number
    const size = --this.size
    const lastT = time[size] as number
    const lastA = actor[size] as number
    let i = 0
    for (;;) {
      let c = 2 * i + 1
      if (c >= size) break
      if (c + 1 < size && (time[c + 1] as number) < (time[c] as number)) c++
      if ((time[c] as number) >= lastT) break
      time[i] = time[c] as number
      actor[i] = actor[c] as number
      i = c
    }
    time[i] = lastT
    actor[i] = lastA
    return top
  }
}
