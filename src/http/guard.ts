/**
 * The inline guard shared by every HTTP feeder: per request it resolves principals, asks the
 * engine for the enforced action, answers itself when the action says so (throttle, challenge,
 * block), and after the response accounts what the body disclosed (and masks it when asked).
 * Adapters (node, Express, Fastify, Hono, proxy) only move bytes between their framework and a
 * {@link Gate}.
 */
import {
  bodyExposures,
  pathExposures,
  type Catalogue,
  type RouteMatch,
  type Action,
  actionRank,
  type Decision,
  type Event,
  type ResourceKind,
  type Exposure,
  FIELD_BIT,
  type FieldClass,
  type FieldMask,
  digestHex,
  fieldMask,
  type Keyer,
  type PendingRequest,
  type Principal,
} from '../core/index.ts'
import { type Coding, decodeBody, encodeBody, parseCoding, textKind } from './body.ts'
import { type Challenge, type ChallengeOptions, createChallenge } from './challenge.ts'
import { type DiscoveryKind, DISCOVERY_KINDS, discoverExposures } from './discovery.ts'
import { createCidrMatcher } from './ip.ts'
import { maskBodyText } from './mask.ts'
import {
  type PrincipalOptions,
  type RequestIdentity,
  createPrincipalExtractor,
} from './principals.ts'
import { type Answer, ACTION_TITLES, problemAnswer, retryAfterSeconds } from './problem.ts'
import { type RequestFacts, cookieValue, headerValue } from './request.ts'

/** The engine's answer for a set of principals (structurally the engine's Verdict). */
export interface GuardVerdict {
  readonly action: Action
  readonly decision: Decision | undefined
}

/** What the guard needs of the engine: judge before the response, observe after. */
export interface GuardEngine {
  judge(principals: readonly Principal[], timeMs: number, pending?: PendingRequest): GuardVerdict
  observe(event: Event): GuardVerdict
}

/** Throttle behaviour: answer 429 at once, or hold the request and then serve it. */
export const THROTTLE_MODES = ['reject', 'delay'] as const
/** One of {@link THROTTLE_MODES}. */
export type ThrottleMode = (typeof THROTTLE_MODES)[number]

/** Options of {@link createGuard}. */
export interface GuardOptions extends PrincipalOptions {
  readonly engine: GuardEngine
  /** Compiled route catalogue; without one only discovery and resource guessing apply. */
  readonly catalogue?: Catalogue
  /** Value kinds to discover in bodies (`true` = all). @default false */
  readonly discovery?: boolean | readonly DiscoveryKind[]
  /** Largest (decoded) body inspected or masked, bytes. @default 1_048_576 */
  readonly inspectBytes?: number
  /** Classes masked by `mask`. @default ['id','phone','name','email','national-id','address'] */
  readonly protectedFields?: readonly FieldClass[]
  /** @default { mode: 'reject', retryAfterS: 60, delayMs: 2000 } */
  readonly throttle?: {
    readonly mode?: ThrottleMode
    readonly retryAfterS?: number
    readonly delayMs?: number
  }
  /** Browser challenge; without it, `challenge` answers every client with problem JSON 401. */
  readonly challenge?: ChallengeOptions
  /** CIDRs and principals (`account:…`) that skip the guard entirely. @default [] */
  readonly allowlist?: readonly string[]
  /** Judge and journal but enforce nothing. @default false */
  readonly shadow?: boolean
  /** Wall clock, ms. @default Date.now */
  readonly clock?: () => number
  /**
   * Called when accounting a response deferred with {@link Gate.finishSoon} throws (a bug: the
   * response has gone out, so nobody else could hear of it). @default logs with console.error
   */
  readonly onAccountingError?: (error: unknown) => void
}

/** What to do with a response body. */
export interface BodyPlan {
  /** Collect (up to the cap) for accounting. */
  readonly inspect: boolean
  /** Hold the body back to rewrite it (implies inspect). */
  readonly hold: boolean
  readonly coding: Coding
  readonly kind: 'json' | 'text'
}

const DEFAULT_PROTECTED: readonly FieldClass[] = [
  'id',
  'phone',
  'name',
  'email',
  'national-id',
  'address',
]
const PATTERN_BITS = FIELD_BIT.phone | FIELD_BIT.email | FIELD_BIT['national-id']
// Principals in the allowlist are `kind:value`; anything else is an address or CIDR (IPv6
// ranges like `fe80::/10` also contain colons, so the kind must be a real one).
const PRINCIPAL_PREFIX = /^(?:ip|net|account|key|session|device):/
const NO_PLAN: BodyPlan = { inspect: false, hold: false, coding: 'identity', kind: 'text' }

/** Per-request state between the request and the end of its response. */
export interface Gate {
  readonly timeMs: number
  readonly identity: RequestIdentity
  readonly match: RouteMatch | undefined
  /** The action enforced on this request (after allowlist, shadow and passes). */
  readonly action: Action
  readonly decision: Decision | undefined
  /** When set, send this instead of calling the application. */
  readonly answer: Answer | undefined
  /** Hold the request this long before calling the application (delay throttle). */
  readonly delayMs: number
  /** Whether protected fields must be masked. */
  readonly mask: boolean
  /** Allowlisted: no accounting, no enforcement. */
  readonly skip: boolean
  /** How to treat a response with these headers. */
  plan(
    contentType: string | undefined,
    contentEncoding: string | undefined,
    contentLength: number | undefined,
  ): BodyPlan
  /**
   * Masks a held (still encoded) body; returns the re-encoded body, or undefined when it could
   * not be decoded (the caller sends the original).
   */
  maskEncoded(body: Buffer, plan: BodyPlan): Buffer | undefined
  /** Accounts the response: builds the Event and feeds the engine. */
  finish(response: ResponseOutcome): GuardVerdict | undefined
  /**
   * Accounts the response once the current I/O callbacks are done (`setImmediate`), together
   * with the other responses written in the same event-loop turn and in the order they were
   * written. Feeders call it after handing the response to the socket, so building the Event
   * and updating the ledgers add nothing to the response's latency, and a turn's responses are
   * accounted back to back while the engine's code and data are hot. The price: a request
   * judged in the same turn (another connection, or a pipelined request) does not yet see these
   * exposures; the next turn does. A client that waits for its response never sees the lag.
   */
  finishSoon(response: ResponseOutcome): void
}

/** What the feeder saw of the response. */
export interface ResponseOutcome {
  readonly status: number
  readonly bytes: number
  readonly contentType: string | undefined
  /** Captured body (still encoded) when the plan inspected it and it fit under the cap. */
  readonly body?: Buffer | undefined
  readonly plan?: BodyPlan | undefined
  /** Parsed JSON body, when the framework had it before serialisation (Fastify). */
  readonly json?: unknown
  /** Whether the body went out masked. */
  readonly masked?: boolean
}

/** The guard: one per application or proxy. */
export interface Guard {
  /** Starts a request: principals, verdict, maybe an answer. */
  begin(request: RequestFacts): Gate
  readonly challenge: Challenge | undefined
  readonly inspectBytes: number
}

function guessResource(contentType: string | undefined, path: string): ResourceKind {
  const ct = (contentType ?? '').toLowerCase()
  if (ct.includes('html')) return 'page'
  if (ct.includes('json')) return 'api'
  if (
    ct.startsWith('image/') ||
    ct.includes('css') ||
    ct.includes('javascript') ||
    ct.startsWith('font/') ||
    /\.(?:css|js|mjs|png|jpe?g|gif|svg|webp|ico|woff2?)(?:\?|$)/.test(path)
  )
    return 'asset'
  return 'other'
}

/**
 * Creates the guard. Compiles everything once (CIDR matchers, challenge keys, masks); throws
 * HarvestGuardError on bad options (`HG_HTTP_BAD_CIDR`, `HG_HTTP_CHALLENGE_SECRET`).
 * @example
 * const guard = createGuard({ engine, keyer, catalogue, trustedProxies: ['10.0.0.0/8'] })
 */
export function createGuard(options: GuardOptions): Guard {
  const engine = options.engine
  const keyer: Keyer = options.keyer
  const catalogue = options.catalogue
  const extract = createPrincipalExtractor(options)
  const inspectBytes = options.inspectBytes ?? 1_048_576
  const protectedMask: FieldMask = fieldMask(options.protectedFields ?? DEFAULT_PROTECTED)
  const discovery: ReadonlySet<DiscoveryKind> | undefined =
    options.discovery === true
      ? new Set(DISCOVERY_KINDS)
      : Array.isArray(options.discovery) && options.discovery.length > 0
        ? new Set(options.discovery as readonly DiscoveryKind[])
        : undefined
  const throttleMode = options.throttle?.mode ?? 'reject'
  const retryAfterS = options.throttle?.retryAfterS ?? 60
  const throttleDelayMs = options.throttle?.delayMs ?? 2000
  const challenge = options.challenge === undefined ? undefined : createChallenge(options.challenge)
  const allowCidrs = createCidrMatcher(
    (options.allowlist ?? []).filter((e) => !PRINCIPAL_PREFIX.test(e)),
    'allowlist',
  )
  const allowPrincipals = new Set((options.allowlist ?? []).filter((e) => PRINCIPAL_PREFIX.test(e)))
  const shadow = options.shadow ?? false
  const clock = options.clock ?? Date.now
  const onAccountingError =
    options.onAccountingError ??
    ((error: unknown) => console.error('harvestguard: accounting a response failed', error))

  // Responses waiting to be accounted, in the order they were written (see finishSoon).
  let pendingGates: RequestGate[] = []
  let pendingOutcomes: ResponseOutcome[] = []
  let flushScheduled = false
  const later: (fn: () => void) => void =
    typeof setImmediate === 'function' ? (fn) => setImmediate(fn) : (fn) => setTimeout(fn, 0)
  const flush = (): void => {
    flushScheduled = false
    const gates = pendingGates
    const outcomes = pendingOutcomes
    pendingGates = []
    pendingOutcomes = []
    for (let i = 0; i < gates.length; i++) {
      try {
        gates[i]!.finish(outcomes[i]!)
      } catch (error) {
        onAccountingError(error)
      }
    }
  }

  const binding = (identity: RequestIdentity): string => {
    const net = identity.principals[1] ?? identity.principals[0]!
    return `${net}|${digestHex(keyer.digest('ua', identity.client.userAgent))}`
  }

  class RequestGate implements Gate {
    readonly timeMs: number
    readonly identity: RequestIdentity
    readonly match: RouteMatch | undefined
    readonly action: Action
    readonly decision: Decision | undefined
    readonly answer: Answer | undefined
    readonly delayMs: number
    readonly mask: boolean
    readonly skip: boolean
    readonly #request: RequestFacts

    constructor(request: RequestFacts) {
      this.#request = request
      this.timeMs = clock()
      this.identity = extract(request)
      this.match = catalogue?.match(request.method, request.url)
      this.skip =
        (allowCidrs.size > 0 &&
          this.identity.words !== undefined &&
          allowCidrs.has(this.identity.words)) ||
        (allowPrincipals.size > 0 && this.identity.principals.some((p) => allowPrincipals.has(p)))
      let action: Action = 'allow'
      let decision: Decision | undefined
      let answer: Answer | undefined
      if (challenge !== undefined && request.url.startsWith(challenge.verifyPath)) {
        answer = this.#verify(challenge)
      } else if (!this.skip) {
        // A catalogued route tells the engine what is asked before it is answered.
        const route = this.match?.route
        const verdict =
          route === undefined
            ? engine.judge(this.identity.principals, this.timeMs)
            : engine.judge(this.identity.principals, this.timeMs, {
                resource: route.resource,
                referer: this.identity.client.referer,
                records:
                  route.pathRules.length + route.bodyRules.length > 0 || discovery !== undefined,
              })
        decision = verdict.decision
        action = shadow ? 'allow' : verdict.action
        if (action === 'challenge' && challenge !== undefined) {
          const pass = cookieValue(request.headers, challenge.cookieName)
          // A solved challenge lets the browser through, masked: it proved a browser, not innocence.
          if (challenge.passes(binding(this.identity), pass, this.timeMs)) action = 'mask'
        }
        answer = this.#answerFor(action, decision)
      }
      this.action = action
      this.decision = decision
      this.answer = answer
      this.delayMs = action === 'throttle' && throttleMode === 'delay' ? throttleDelayMs : 0
      this.mask = answer === undefined && actionRank(action) >= actionRank('mask')
    }

    #verify(ch: Challenge): Answer {
      const q = this.#request.url.indexOf('?')
      const result = ch.verify(
        binding(this.identity),
        q < 0 ? '' : this.#request.url.slice(q + 1),
        this.timeMs,
      )
      if (!result.ok)
        return problemAnswer(
          403,
          'challenge-failed',
          'Verification failed',
          result.reason,
          undefined,
        )
      return {
        status: 303,
        headers: {
          location: result.returnTo,
          'cache-control': 'no-store',
          'set-cookie': `${ch.cookieName}=${result.cookie}; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600`,
          'content-type': 'text/plain; charset=utf-8',
        },
        body: 'verified\n',
      }
    }

    #answerFor(action: Action, decision: Decision | undefined): Answer | undefined {
      if (action === 'block')
        return problemAnswer(
          403,
          'blocked',
          ACTION_TITLES.block!,
          'Automated harvesting of personal data is not permitted from this client.',
          decision,
        )
      if (action === 'throttle' && throttleMode === 'reject') {
        const s = retryAfterSeconds(decision, this.timeMs, retryAfterS)
        return problemAnswer(
          429,
          'throttled',
          ACTION_TITLES.throttle!,
          `Slow down; retry after ${s} s.`,
          decision,
          { 'retry-after': String(s) },
        )
      }
      if (action !== 'challenge') return undefined
      const req = this.#request
      const accept = headerValue(req.headers, 'accept') ?? ''
      const browser =
        (req.method === 'GET' || req.method === 'HEAD') && accept.includes('text/html')
      if (browser && challenge !== undefined)
        return {
          status: 403,
          headers: {
            'content-type': 'text/html; charset=utf-8',
            'cache-control': 'no-store',
            'retry-after': '1',
          },
          body: challenge.page(binding(this.identity), this.timeMs, req.url),
        }
      const s = retryAfterSeconds(decision, this.timeMs, retryAfterS)
      return problemAnswer(
        401,
        'challenge',
        ACTION_TITLES.challenge!,
        challenge === undefined
          ? 'This client must slow down and identify itself (sign in or use an API key).'
          : 'Open this address in a browser to verify, or sign in / use an API key.',
        decision,
        { 'retry-after': String(s) },
      )
    }

    plan(
      contentType: string | undefined,
      contentEncoding: string | undefined,
      contentLength: number | undefined,
    ): BodyPlan {
      if (this.skip) return NO_PLAN
      const kind = textKind(contentType)
      if (kind === undefined) return NO_PLAN
      const wants =
        this.mask ||
        discovery !== undefined ||
        (kind === 'json' && this.match !== undefined && this.match.route.bodyRules.length > 0)
      if (!wants) return NO_PLAN
      const coding = parseCoding(contentEncoding)
      if (coding === undefined || (contentLength !== undefined && contentLength > inspectBytes))
        return NO_PLAN
      return { inspect: true, hold: this.mask, coding, kind }
    }

    maskEncoded(body: Buffer, plan: BodyPlan): Buffer | undefined {
      const decoded = decodeBody(body, plan.coding, inspectBytes)
      if (decoded === undefined) return undefined
      const result = maskBodyText(
        decoded.toString('utf8'),
        plan.kind === 'json',
        this.match,
        protectedMask,
      )
      if (result.count === 0) return body
      return encodeBody(Buffer.from(result.text, 'utf8'), plan.coding)
    }

    finish(response: ResponseOutcome): GuardVerdict | undefined {
      if (this.skip) return undefined
      const req = this.#request
      const hasAccount = this.identity.hasAccount
      let exposures: Exposure[] =
        this.match === undefined ? [] : pathExposures(this.match, keyer, hasAccount)
      let json = response.json
      let text: string | undefined
      if (json === undefined && response.body !== undefined && response.plan?.inspect === true) {
        const decoded = decodeBody(response.body, response.plan.coding, inspectBytes)
        if (decoded !== undefined) {
          text = decoded.toString('utf8')
          if (
            response.plan.kind === 'json' &&
            this.match !== undefined &&
            this.match.route.bodyRules.length > 0
          ) {
            try {
              json = JSON.parse(text)
            } catch {
              json = undefined
            }
          }
        }
      }
      if (json !== undefined && this.match !== undefined && this.match.route.bodyRules.length > 0) {
        const found = bodyExposures(this.match, json, keyer, hasAccount)
        exposures = exposures.length === 0 ? found : exposures.concat(found)
      }
      if (discovery !== undefined) {
        if (text === undefined && json !== undefined) text = JSON.stringify(json)
        if (text !== undefined) {
          const found = discoverExposures(text, keyer, discovery)
          if (found.length > 0) exposures = exposures.concat(found)
        }
      }
      if (response.masked === true && exposures.length > 0) {
        // What went out masked is not disclosed: drop the classes masking removed.
        let removed = protectedMask & PATTERN_BITS
        if (this.match !== undefined)
          for (const rule of this.match.route.bodyRules)
            for (const f of rule.fields)
              if (f.path !== undefined) removed |= protectedMask & FIELD_BIT[f.cls]
        const kept: Exposure[] = []
        for (const e of exposures) {
          const fields = e.fields & ~removed
          if (fields !== 0) kept.push(fields === e.fields ? e : { subject: e.subject, fields })
        }
        exposures = kept
      }
      const event: Event = {
        timeMs: this.timeMs,
        method: req.method,
        route: this.match?.route.id ?? '',
        path: req.url,
        status: response.status,
        bytes: response.bytes,
        resource: this.match?.route.resource ?? guessResource(response.contentType, req.url),
        principals: this.identity.principals,
        exposures,
        client: this.identity.client,
        ordinal: this.match?.ordinal ?? -1,
      }
      return engine.observe(event)
    }

    finishSoon(response: ResponseOutcome): void {
      if (this.skip) return
      pendingGates.push(this)
      pendingOutcomes.push(response)
      if (!flushScheduled) {
        flushScheduled = true
        later(flush)
      }
    }
  }

  return {
    challenge,
    inspectBytes,
    begin: (request) => new RequestGate(request),
  }
}
