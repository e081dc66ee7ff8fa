/**
 * The Ledger: what the engine knows about one principal. Distinct records served over sliding
 * windows (one WindowedDistinct for every record, plus one per weight tier other than 1, created
 * only when such a record is first served, and not while every record was of that tier: see
 * #sole), and the running state behind each behaviour signal.
 *
 * Memory is the design constraint: most principals make a handful of requests and are never
 * seen again, and an engine tracks millions. So every field is a small integer or a double held
 * in the object itself (no Map, no closure, no per-ledger copy of config), sketches and the
 * request window are allocated on first need, and the ratio counters behind the behaviour
 * signals are cumulative counts halved together every {@link SAMPLE_SPAN} requests (a recent
 * sample costs 4 bytes a counter, where a sliding window per counter cost ~100 bytes each).
 *
 * Privacy: the ledger never holds an ID, a subject or a personal value. Subjects arrive as keyed
 * digests and go into sketches; of an ordinal (the numeric ID in a path) it keeps the low 16 bits
 * of the last one and which of 256 coarse bins of the low 16 bits were visited.
 */
import { HarvestGuardError } from './errors.ts'
import { ANOMALY, type Event } from './event.ts'
import type { CompiledPolicy } from './policy.ts'
import { KIND } from './principal.ts'
import type { Exposure } from './exposure.ts'
import {
  WindowSlots,
  WindowedCounter,
  WindowedDistinct,
  mixDigest,
  mixedHi,
  mixedLo,
  type Windows,
} from './sketch/index.ts'

// Ledger.#sole before any record, and once the tier sketches are kept apart.
const SOLE_UNSEEN = -2
const SOLE_NONE = -1

/** Code of ledger bytes that cannot be decoded (corrupt snapshot or fleet state). */
export const LEDGER_CORRUPT = 'HG_LEDGER_CORRUPT'

/** Requests after which the ratio counters are halved, so they describe recent behaviour. */
export const SAMPLE_SPAN = 4096

const HOUR_MS = 3_600_000
// #actionOffsetMs when there was no non-asset request yet; offsets are clamped above it.
const NO_ACTION = -(2 ** 30)
const FORMAT_VERSION = 1
const MASK24 = 0xffffff
// Periodicity: gaps are averaged with weight 1/n up to this many, then exponentially.
const GAP_HORIZON = 64
// Periodicity: once this many gaps set the mean, a gap counts at most GAP_WINSOR x the mean. A
// fast loop stalls now and then (a collection, a slow response): one 12 ms stall among 1 ms
// gaps would otherwise dominate the variance for the next hundred gaps and hide the rhythm.
// People's gaps keep a coefficient of variation near 1 after this (exponential: 0.94).
const GAP_WINSOR_AFTER = 8
const GAP_WINSOR = 4

/** Bits of {@link Ledger.flags}. */
export const LEDGER_FLAG = Object.freeze({
  /** The principal is allowlisted: never judged, nothing counted. */
  allowlisted: 1,
  /** Allowlisting was computed. */
  checked: 2,
  /**
   * The store holds (or held: the bit is not cleared when the decision expires) a decision for
   * this principal; set by stores that say so ({@link LedgerStore.marksDecided}), so the engine
   * looks decisions up only for the few principals that have one.
   */
  decided: 4,
} as const)

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff
}

/** Periodicity: exponentially weighted mean and variance of gaps between non-asset requests. */
class Rhythm {
  gaps = 0
  mean = 0
  variance = 0
}

/** Enumeration: the low 16 bits of the last ordinal, runs of near steps, coarse coverage. */
class Walk {
  low = -1
  run = 0
  maxRun = 0
  steps = 0
  requests = 0
  errors = 0
  bins: Uint32Array | undefined = undefined
}

/** Header anomaly counts by kind (sample). */
class Headers {
  anomalous = 0
  automation = 0
  noAcceptLanguage = 0
  hintMismatch = 0
  foreignHeaders = 0
  noUserAgent = 0
}

// Source of Ledger.serial.
let serials = 0

// Facts about the request being recorded that every principal's ledger needs (whether it carries
// a partner key; the device bit of its fingerprint), computed once per request between
// Ledger.prepare and Ledger.unprepare instead of once per principal (scanning the request's
// principal strings per principal was ~5% of the engine's time in bench/engine.bench.ts).
let preparedFor: readonly string[] | undefined = undefined
let preparedKeyed = false
let preparedDevice = 0
// Likewise each exposure's digest, mixed once per request for the sketches (mixDigest) instead
// of once per principal and weight tier, and the request's time slots in the policy's windows:
// a response of 14 records on 3 principals mixed each digest 6 times and divided its time 4
// times per sketch add.
let preparedExposures: readonly Exposure[] | undefined = undefined
let mixedLos = new Float64Array(64)
let mixedHis = new Float64Array(64)
let slots: WindowSlots | undefined = undefined

function slotsAt(windows: Windows, timeMs: number): WindowSlots {
  let s = slots
  if (s === undefined || s.windows !== windows) {
    s = new WindowSlots(windows)
    slots = s
  }
  return s.at(timeMs)
}

/** What {@link Ledger.prepare} computes of a principal list, for a caller that keeps it. */
export interface PrincipalFacts {
  /** Whether the list holds a partner key. */
  readonly keyed: boolean
  /** The device bit the list contributes to an address's crowd (0: no device). */
  readonly device: number
}

/** {@link PrincipalFacts} of a principal list. */
export function principalFacts(principals: readonly string[]): PrincipalFacts {
  return { keyed: hasKey(principals), device: deviceBit(principals) }
}

/** Per-principal exposure and behaviour state. Create through a LedgerStore. */
export class Ledger {
  /**
   * Engine bookkeeping, not state: a number unique to this ledger object among the live ones
   * (wraps after 2^30 ledgers), never persisted. The engine builds actor-linking signatures from
   * the serials of a request's ledgers.
   */
  readonly serial: number = (serials = (serials + 1) & 0x3fffffff)
  /**
   * Engine bookkeeping, not state: signature of the identities this owner identity was last
   * linked with (0: none). While a request carries the same ones, linking would change nothing.
   */
  linkSig = 0
  // Exposure accounting.
  #distinct: WindowedDistinct | undefined = undefined
  #tiers: (WindowedDistinct | undefined)[] | undefined = undefined
  // SOLE_UNSEEN until a record is counted; then the weight tier (>= 1) of every record counted
  // so far, whose sketch would hold exactly what #distinct holds and so is not kept (a harvester
  // on one route: half the sketch adds); SOLE_NONE once two tiers (or tier 0) were seen, and
  // for a ledger built from bytes or merges: #tiers holds every tier then.
  #sole = SOLE_UNSEEN
  #window: WindowedCounter | undefined = undefined
  #requests = 0
  #records = 0
  // Ratio sample (halved every SAMPLE_SPAN requests).
  #sample = 0
  #pages = 0
  #assets = 0
  #pagesNoReferer = 0
  #errors = 0
  // Records served through the API on requests with neither a Referer nor a partner key.
  #bareRecords = 0
  // Time, kept as small integers (a double field costs a 16-byte box per ledger): the hour of
  // the latest request and milliseconds into it; the latest non-asset request relative to it.
  #lastHour = 0
  #msInHour = 0
  #actionOffsetMs = NO_ACTION
  // Round-the-clock: activity in each of the last 24 hours (bit 0 = lastHour) and the hour since
  // which the principal has not rested.
  #hourRing = 0
  #restlessSince = 0
  // Created on first need: most principals never show a rhythm, an ID walk or a bad header.
  #rhythm: Rhythm | undefined = undefined
  #walk: Walk | undefined = undefined
  #headers: Headers | undefined = undefined
  // Engine bookkeeping (not signal state).
  // First look at the 4th request (no signal speaks on fewer) or the first records step.
  #nextEvalRequests = 4
  #nextEvalRecords = 0
  // Minute (epoch minutes, 0 = none) at or after which the next request is a checkpoint: the
  // engine asks for one when a decision is taken, so a persisting actor is re-judged while the
  // decision stands (escalation) instead of after it expired.
  #recheckMin = 0
  // Address and subnet ledgers: a 32-bit linear-counting bitmap of the device fingerprints seen
  // with them, i.e. roughly how many people are behind the address (a NAT: dozens).
  #crowd = 0
  // LEDGER_FLAG bits (low 8) and, above them, lapses + 1: the times the principal came back
  // after a decision of its own lapsed and was decided again (-1: never decided; capped at 16):
  // each return doubles the lifetime of its decisions, so a harvester that waits out a decision
  // and comes back finds a longer one. One field, not two: 8 bytes of every idle principal.
  #flags = 0

  // ------------------------------------------------------------------------------------------
  // Recording

  /**
   * Accounts one event for a principal of kind index `kind` (PRINCIPAL_KINDS order; -1 when
   * unknown: the policy's plain `everyRecords` step applies). Returns true when a checkpoint is crossed and the engine should re-score
   * the principal (every few requests while young, then every `evaluation.everyRequests`
   * requests or `evaluation.everyRecords` records).
   */
  record(event: Event, policy: CompiledPolicy, kind = -1): boolean {
    const t = event.timeMs
    const hour = Math.floor(t / HOUR_MS)
    const requests = ++this.#requests
    const signals = policy.settings.signals
    if (requests === 1) {
      this.#lastHour = hour
      this.#msInHour = t - hour * HOUR_MS
      this.#restlessSince = hour
    }
    if (requests >= 8) {
      let w = this.#window
      if (w === undefined) {
        w = new WindowedCounter(policy.windows)
        w.add(this.lastMs, requests - 1)
        this.#window = w
      }
      w.addAt(slotsAt(policy.windows, t))
    }

    const exposures = event.exposures
    const n = exposures.length
    if (n > 0) {
      let d = this.#distinct
      if (d === undefined) {
        d = new WindowedDistinct(policy.windows)
        this.#distinct = d
      }
      const tierOfMask = policy.tierOfMask
      if (exposures === preparedExposures) {
        const at = slotsAt(policy.windows, t)
        const los = mixedLos
        const his = mixedHis
        for (let i = 0; i < n; i++) {
          const e = exposures[i]!
          const fields = e.fields
          if (fields === 0) continue
          const tier = tierOfMask[fields & 511]!
          if (this.#sole !== SOLE_NONE && tier !== this.#sole) this.#tierSeen(tier, policy.windows)
          d.addPrepared(e.subject, los[i]!, his[i]!, at)
          if (tier !== 0 && this.#sole === SOLE_NONE)
            this.#tierSketch(tier, policy.windows).addPrepared(e.subject, los[i]!, his[i]!, at)
        }
      } else {
        for (let i = 0; i < n; i++) {
          const e = exposures[i]!
          const fields = e.fields
          if (fields === 0) continue
          const tier = tierOfMask[fields & 511]!
          if (this.#sole !== SOLE_NONE && tier !== this.#sole) this.#tierSeen(tier, policy.windows)
          d.add(e.subject, t)
          if (tier !== 0 && this.#sole === SOLE_NONE)
            this.#tierSketch(tier, policy.windows).add(e.subject, t)
        }
      }
      this.#records += n
    }

    // Ratio sample.
    if (this.#sample >= SAMPLE_SPAN) this.#halve()
    this.#sample++
    const resource = event.resource
    const principals = event.principals
    const prepared = principals === preparedFor
    const keyed = prepared ? preparedKeyed : hasKey(principals)
    if (n > 0 && resource === 'api' && !keyed && !event.client.referer) this.#bareRecords += n
    if (resource === 'page') {
      this.#pages++
      if (!event.client.referer) this.#pagesNoReferer++
    } else if (resource === 'asset') {
      this.#assets++
    }
    const status = event.status
    const failed = status >= 400 && status < 500
    if (failed) this.#errors++
    // A request authenticated with a partner key comes from a program by contract: its user
    // agent and headers say so, which is no anomaly.
    const a = event.client.anomalies
    if (a !== 0 && !keyed) {
      let h = this.#headers
      if (h === undefined) {
        h = new Headers()
        this.#headers = h
      }
      h.anomalous++
      if ((a & ANOMALY.automationAgent) !== 0) h.automation++
      if ((a & ANOMALY.noAcceptLanguage) !== 0) h.noAcceptLanguage++
      if ((a & ANOMALY.clientHintMismatch) !== 0) h.hintMismatch++
      if ((a & ANOMALY.foreignHeaders) !== 0) h.foreignHeaders++
      if ((a & ANOMALY.noUserAgent) !== 0) h.noUserAgent++
    }

    // Round-the-clock (and the clock itself).
    const ahead = hour - this.#lastHour
    if (ahead > 0) {
      const restHours = 24 - signals['round-the-clock'].minActiveHours
      if (ahead - 1 > restHours) this.#restlessSince = hour
      this.#hourRing = ahead >= 24 ? 0 : (this.#hourRing << ahead) & MASK24
      this.#lastHour = hour
      this.#msInHour = t - hour * HOUR_MS
      const offset = this.#actionOffsetMs - ahead * HOUR_MS
      this.#actionOffsetMs = offset > NO_ACTION ? offset : NO_ACTION
      this.#hourRing |= 1
    } else {
      if (ahead === 0 && t - hour * HOUR_MS > this.#msInHour) this.#msInHour = t - hour * HOUR_MS
      if (ahead > -24) this.#hourRing |= 1 << -ahead
    }

    // Periodicity: rhythm of actions (assets ride along with pages in bursts).
    if (resource !== 'asset') {
      const base = this.#lastHour * HOUR_MS
      const prevOffset = this.#actionOffsetMs
      if (prevOffset !== NO_ACTION) {
        const gap = t - (base + prevOffset)
        if (gap >= 0 && gap <= signals.periodicity.maxGap) {
          let r = this.#rhythm
          if (r === undefined) {
            r = new Rhythm()
            this.#rhythm = r
          }
          const g = ++r.gaps
          const alpha = g < GAP_HORIZON ? 1 / g : 1 / GAP_HORIZON
          const cap = GAP_WINSOR * r.mean
          const diff = (g > GAP_WINSOR_AFTER && gap > cap ? cap : gap) - r.mean
          const incr = alpha * diff
          r.mean += incr
          r.variance = (1 - alpha) * (r.variance + diff * incr)
        }
      }
      const offset = t - base
      if (prevOffset === NO_ACTION || offset > prevOffset) {
        this.#actionOffsetMs = offset > NO_ACTION ? offset : NO_ACTION
      }
    }

    if (kind === 0 || kind === 1) {
      this.#crowd |= prepared ? preparedDevice : deviceBit(principals)
    }

    // Enumeration. A keyed request's ID walk is judged on the key alone: the partner's office
    // address and client fingerprint are its infrastructure, not separate readers.
    const ordinal = event.ordinal
    if (ordinal >= 0 && (!keyed || kind === KIND_KEY)) {
      let w = this.#walk
      if (w === undefined) {
        w = new Walk()
        this.#walk = w
      }
      w.requests++
      if (failed) w.errors++
      const low = ordinal % 65536
      const prev = w.low
      w.low = low
      if (prev >= 0) {
        let step = low - prev
        if (step > 32767) step -= 65536
        else if (step < -32768) step += 65536
        if (step !== 0) {
          const steps = ++w.steps
          const max = signals.enumeration.step
          if (step <= max && step >= -max) {
            if (++w.run > w.maxRun) w.maxRun = w.run
          } else {
            w.run = 0
          }
          if (steps >= 8) {
            let bins = w.bins
            if (bins === undefined) {
              bins = new Uint32Array(8)
              w.bins = bins
            }
            const bin = low >>> 8
            bins[bin >>> 5] = bins[bin >>> 5]! | (1 << (bin & 31))
          }
        }
      }
    }

    // Checkpoints.
    const recordStep =
      kind >= 0 ? policy.recordSteps[kind]! : policy.settings.evaluation.everyRecords
    // First look at the first records served: a cold harvester is judged on its first response,
    // not after a full record step (a swarm address may make only a few requests).
    if (this.#nextEvalRecords === 0) this.#nextEvalRecords = 1
    const recheck = this.#recheckMin !== 0 && t >= this.#recheckMin * 60_000
    if (recheck) this.#recheckMin = 0
    if (recheck || requests >= this.#nextEvalRequests || this.#records >= this.#nextEvalRecords) {
      const every = policy.settings.evaluation
      this.#nextEvalRequests =
        requests < every.everyRequests ? requests * 2 : requests + every.everyRequests
      this.#nextEvalRecords = this.#records + recordStep
      return true
    }
    return false
  }

  /**
   * Computes, once, what every ledger recording a request with these principals needs to know
   * about the request as a whole; until {@link unprepare}, record() of an event carrying this
   * very array (and these very exposures) uses it. The engine brackets each request's recording
   * with the two.
   */
  static prepare(
    principals: readonly string[],
    exposures?: readonly Exposure[],
    facts?: PrincipalFacts,
  ): void {
    preparedExposures = undefined
    preparedFor = principals
    preparedKeyed = facts === undefined ? hasKey(principals) : facts.keyed
    preparedDevice = facts === undefined ? deviceBit(principals) : facts.device
    if (exposures === undefined || exposures.length === 0) return
    const n = exposures.length
    if (n > mixedLos.length) {
      mixedLos = new Float64Array(Math.max(n, 2 * mixedLos.length))
      mixedHis = new Float64Array(mixedLos.length)
    }
    for (let i = 0; i < n; i++) {
      mixDigest(exposures[i]!.subject)
      mixedLos[i] = mixedLo()
      mixedHis[i] = mixedHi()
    }
    preparedExposures = exposures
  }

  /** Ends {@link prepare}: record() computes the facts itself again. */
  static unprepare(): void {
    preparedFor = undefined
    preparedExposures = undefined
  }

  /** Counts a fresh decision (none of its own was live); returns the lapses so far. */
  lapse(): number {
    let lapses = (this.#flags >>> 8) - 1
    if (lapses < 16) lapses++
    this.#flags = (this.#flags & 0xff) | ((lapses + 1) << 8)
    return lapses
  }

  /**
   * Distinct device fingerprints seen with this address or subnet (linear counting over 32
   * bits: exact for a few, ~100 at most); 0 for other kinds.
   */
  get crowd(): number {
    const zeros = 32 - popcount(this.#crowd)
    if (zeros === 32) return 0
    return zeros === 0 ? 111 : -32 * Math.log(zeros / 32)
  }

  /** Times the principal was decided afresh after an earlier decision of its own lapsed. */
  get lapses(): number {
    const lapses = (this.#flags >>> 8) - 1
    return lapses < 0 ? 0 : lapses
  }

  /** Makes the first request at or after `timeMs` a checkpoint (minute resolution). */
  recheckAt(timeMs: number): void {
    this.#recheckMin = Math.ceil(timeMs / 60_000)
  }

  /**
   * A record of weight tier `tier` (not #sole) is about to be counted: the first record makes
   * its tier the sole one (a tier above 0) or ends sharing (tier 0); a record of another tier
   * ends sharing, the sole tier's sketch becoming a copy of #distinct as it is before this record.
   */
  #tierSeen(tier: number, windows: Windows): void {
    if (this.#sole === SOLE_UNSEEN && tier !== 0) this.#sole = tier
    else this.#unshare(windows)
  }

  /** Keeps every tier sketch apart from here on (see #sole). */
  #unshare(windows: Windows): void {
    const sole = this.#sole
    this.#sole = SOLE_NONE
    const d = this.#distinct
    if (sole > 0 && d !== undefined) {
      // An exact copy (the bytes snapshots restore from): it then takes the same adds.
      ;(this.#tiers ??= [])[sole] = WindowedDistinct.fromBytes(d.toBytes(), windows)
    }
  }

  /** The sketch of weight tier `tier`, shared or kept (undefined: none). */
  #tier(tier: number): WindowedDistinct | undefined {
    return tier === this.#sole ? this.#distinct : this.#tiers?.[tier]
  }

  #tierSketch(tier: number, windows: Windows): WindowedDistinct {
    let tiers = this.#tiers
    if (tiers === undefined) {
      tiers = []
      this.#tiers = tiers
    }
    while (tiers.length <= tier) tiers.push(undefined)
    let d = tiers[tier]
    if (d === undefined) {
      d = new WindowedDistinct(windows)
      tiers[tier] = d
    }
    return d
  }

  #halve(): void {
    this.#sample >>= 1
    this.#pages >>= 1
    this.#assets >>= 1
    this.#pagesNoReferer >>= 1
    this.#errors >>= 1
    this.#bareRecords >>= 1
    const h = this.#headers
    if (h !== undefined) {
      h.anomalous >>= 1
      h.automation >>= 1
      h.noAcceptLanguage >>= 1
      h.hintMismatch >>= 1
      h.foreignHeaders >>= 1
      h.noUserAgent >>= 1
    }
    const w = this.#walk
    if (w !== undefined) {
      w.requests >>= 1
      w.errors >>= 1
      w.maxRun = w.run
      w.steps = 0
      w.bins = undefined
    }
  }

  // ------------------------------------------------------------------------------------------
  // Reading

  /** Distinct records served in window `w` as of `timeMs`. */
  distinct(w: number, timeMs: number): number {
    return this.#distinct === undefined ? 0 : this.#distinct.estimate(w, timeMs)
  }

  /**
   * Weighted distinct records in window `w`: every record counts with the weight of its
   * heaviest field class, i.e. all records plus (weight - 1) times the records of each tier.
   */
  weighted(w: number, timeMs: number, policy: CompiledPolicy): number {
    let total = this.distinct(w, timeMs)
    const sole = this.#sole
    if (sole > 0) return total * (policy.tierWeights[sole] as number)
    const tiers = this.#tiers
    if (tiers !== undefined) {
      const weights = policy.tierWeights
      for (let i = 1; i < tiers.length; i++) {
        const d = tiers[i]
        if (d !== undefined) total += ((weights[i] as number) - 1) * d.estimate(w, timeMs)
      }
    }
    return total < 0 ? 0 : total
  }

  /** Distinct records of weight tier `tier` (see CompiledPolicy.tierWeights) in window `w`. */
  tierDistinct(tier: number, w: number, timeMs: number): number {
    if (tier === 0) return 0
    const d = this.#tier(tier)
    return d === undefined ? 0 : d.estimate(w, timeMs)
  }

  /** Requests in window `w` of `windows` as of `timeMs`. */
  requestsIn(w: number, timeMs: number, windows: Windows): number {
    if (this.#window !== undefined) return this.#window.total(w, timeMs)
    const spec = windows.specs[w]
    return spec !== undefined && this.lastMs > timeMs - spec.windowMs ? this.#requests : 0
  }

  /** Event time of the latest request. */
  get lastMs(): number {
    return this.#lastHour * HOUR_MS + this.#msInHour
  }
  /** Requests ever counted. */
  get requests(): number {
    return this.#requests
  }
  /** Exposures ever counted (not distinct). */
  get records(): number {
    return this.#records
  }
  /** Requests in the current ratio sample. */
  get sample(): number {
    return this.#sample
  }
  get pages(): number {
    return this.#pages
  }
  get assets(): number {
    return this.#assets
  }
  /** Records served through the API without a Referer or partner key (sample). */
  get bareRecords(): number {
    return this.#bareRecords
  }
  get pagesNoReferer(): number {
    return this.#pagesNoReferer
  }
  /** 4xx responses in the sample. */
  get errors(): number {
    return this.#errors
  }
  /** Requests naming an ordinal, and 4xx among them, in the sample. */
  get ordinalRequests(): number {
    return this.#walk?.requests ?? 0
  }
  get ordinalErrors(): number {
    return this.#walk?.errors ?? 0
  }
  /** Requests with any header anomaly, and per kind. */
  get anomalous(): number {
    return this.#headers?.anomalous ?? 0
  }
  get automation(): number {
    return this.#headers?.automation ?? 0
  }
  get noAcceptLanguage(): number {
    return this.#headers?.noAcceptLanguage ?? 0
  }
  get hintMismatch(): number {
    return this.#headers?.hintMismatch ?? 0
  }
  get foreignHeaders(): number {
    return this.#headers?.foreignHeaders ?? 0
  }
  get noUserAgent(): number {
    return this.#headers?.noUserAgent ?? 0
  }
  /** Inter-arrival gaps measured, their mean and standard deviation (ms). */
  get gaps(): number {
    return this.#rhythm?.gaps ?? 0
  }
  get gapMeanMs(): number {
    return this.#rhythm?.mean ?? 0
  }
  get gapStdMs(): number {
    return Math.sqrt(this.#rhythm?.variance ?? 0)
  }
  /** Hours with activity among the 24 ending at the latest request. */
  get activeHours(): number {
    return popcount(this.#hourRing)
  }
  /** Hours since the principal last rested (as of its latest request). */
  get restlessHours(): number {
    return this.#lastHour - this.#restlessSince
  }
  /** Longest run of near-consecutive ordinals in the sample, and the current one. */
  get maxRun(): number {
    return this.#walk?.maxRun ?? 0
  }
  get run(): number {
    return this.#walk?.run ?? 0
  }
  /** Steps between different ordinals in the sample. */
  get ordinalSteps(): number {
    return this.#walk?.steps ?? 0
  }
  /** Coarse bins (of 256) the ordinals fell into since bins were started, 0 when not started. */
  get ordinalBins(): number {
    const b = this.#walk?.bins
    if (b === undefined) return 0
    let n = 0
    for (let i = 0; i < 8; i++) n += popcount(b[i]!)
    return n
  }
  /** Engine flags ({@link LEDGER_FLAG}). */
  get flags(): number {
    return this.#flags & 0xff
  }
  set flags(value: number) {
    this.#flags = (this.#flags & ~0xff) | (value & 0xff)
  }

  /** Approximate bytes retained (object, sketches, typed arrays), 8-byte fields. */
  get heapBytes(): number {
    let bytes = 16 + 24 * 8
    if (this.#distinct !== undefined) bytes += this.#distinct.heapBytes
    if (this.#tiers !== undefined) {
      bytes += 32 + 8 * this.#tiers.length
      for (const d of this.#tiers) if (d !== undefined) bytes += d.heapBytes
    }
    if (this.#window !== undefined) bytes += this.#window.heapBytes
    if (this.#rhythm !== undefined) bytes += 88
    if (this.#headers !== undefined) bytes += 64
    if (this.#walk !== undefined) bytes += 72 + (this.#walk.bins === undefined ? 0 : 100)
    return bytes
  }

  // ------------------------------------------------------------------------------------------
  // Merge and bytes

  /**
   * Merges another ledger of the same principal (a fleet peer's delta, a restored snapshot):
   * sketches by union, counters by addition, behaviour state by the stronger evidence.
   */
  merge(other: Ledger, policy: CompiledPolicy): void {
    if (other === this || other.#requests === 0) return
    this.#mergeSketches(other, policy.windows)
    this.#mergeCounts(other, policy.windows)
  }

  /**
   * Brings a fleet view up to date: afterwards this ledger reads as one rebuilt by merging
   * `peers` (in order) and then `own` into an empty ledger, without the rebuild. This ledger is
   * such a view (own ∪ peers) that has since been fed the events `own` was fed. Sketches: only
   * the ledgers in `fresh` are unioned in (union is idempotent, and a peer's cumulative sketches
   * only grow, so the earlier versions this view merged are contained in the current ones);
   * for a new, empty view pass every peer and `own`. Everything else (request, record and
   * sample counters, the request window, rhythm, walk, clock) is reset to what the merges would
   * give, since addition is not idempotent. A ledger of `peers` not in `fresh` may therefore
   * come from `fromBytes(..., { sketches: false })`. The engine's bookkeeping here (flags,
   * checkpoints requested, serial, link signature) stays; lapses are `own`'s (the engine counts
   * them in both).
   *
   * Why: a guard of a fleet reads each shared principal as own ∪ peers. Rebuilding that from
   * the peers' bytes at every sync cost a round-robin fleet 12x the memory store's engine time
   * (bench/RESULTS.md, Fleet), most of it HyperLogLog merges into fresh sketches.
   *
   * A peer whose ledger shrank (restarted, evicted) or vanished cannot be taken out of a union:
   * the caller rebuilds then.
   */
  refreshView(
    own: Ledger,
    peers: readonly Ledger[],
    policy: CompiledPolicy,
    fresh: Iterable<Ledger> = [],
  ): void {
    const windows = policy.windows
    for (const l of fresh) {
      if (l !== this && l.#requests > 0) this.#mergeSketches(l, windows)
    }
    const flags = (this.#flags & 0xff) | (own.#flags & ~0xff)
    const recheckMin = this.#recheckMin
    this.#resetCounts()
    for (const p of peers) if (p !== this && p.#requests > 0) this.#mergeCounts(p, windows)
    if (own !== this && own.#requests > 0) this.#mergeCounts(own, windows)
    this.#flags = flags
    this.#recheckMin = recheckMin
  }

  /** Union of the distinct-record sketches (idempotent). */
  #mergeSketches(other: Ledger, windows: Windows): void {
    // Before the union: the other's records may be of any tier.
    this.#unshare(windows)
    if (other.#distinct !== undefined) {
      if (this.#distinct === undefined) this.#distinct = new WindowedDistinct(windows)
      this.#distinct.merge(other.#distinct)
    }
    const count = Math.max(other.#tiers?.length ?? 0, other.#sole + 1)
    for (let i = 1; i < count; i++) {
      const d = other.#tier(i)
      if (d !== undefined) this.#tierSketch(i, windows).merge(d)
    }
  }

  /** Everything but the distinct-record sketches back to a new ledger's state. */
  #resetCounts(): void {
    this.#window = undefined
    this.#requests = 0
    this.#records = 0
    this.#sample = 0
    this.#pages = 0
    this.#assets = 0
    this.#pagesNoReferer = 0
    this.#errors = 0
    this.#bareRecords = 0
    this.#lastHour = 0
    this.#msInHour = 0
    this.#actionOffsetMs = NO_ACTION
    this.#hourRing = 0
    this.#restlessSince = 0
    this.#rhythm = undefined
    this.#walk = undefined
    this.#headers = undefined
    this.#nextEvalRequests = 4
    this.#nextEvalRecords = 0
    this.#recheckMin = 0
    this.#crowd = 0
    this.#flags = 0
  }

  /** merge() but for the distinct-record sketches: counters add, behaviour state by evidence. */
  #mergeCounts(other: Ledger, windows: Windows): void {
    if (other.#window !== undefined || this.#window !== undefined) {
      if (this.#window === undefined) {
        this.#window = new WindowedCounter(windows)
        if (this.#requests > 0) this.#window.add(this.lastMs, this.#requests)
      }
      if (other.#window !== undefined) this.#window.merge(other.#window)
      else this.#window.add(other.lastMs, other.#requests)
    }
    const empty = this.#requests === 0
    this.#requests += other.#requests
    this.#records += other.#records
    this.#sample += other.#sample
    this.#pages += other.#pages
    this.#assets += other.#assets
    this.#pagesNoReferer += other.#pagesNoReferer
    this.#errors += other.#errors
    this.#bareRecords += other.#bareRecords
    if (other.#headers !== undefined) {
      const h = (this.#headers ??= new Headers())
      const o = other.#headers
      h.anomalous += o.anomalous
      h.automation += o.automation
      h.noAcceptLanguage += o.noAcceptLanguage
      h.hintMismatch += o.hintMismatch
      h.foreignHeaders += o.foreignHeaders
      h.noUserAgent += o.noUserAgent
    }
    // The device fingerprints behind an address: a union (fleet views and restored snapshots
    // lost them before, so a NAT judged by a fleet got a single person's budget).
    this.#crowd |= other.#crowd
    if (other.#rhythm !== undefined && other.#rhythm.gaps > (this.#rhythm?.gaps ?? 0)) {
      const r = (this.#rhythm ??= new Rhythm())
      r.gaps = other.#rhythm.gaps
      r.mean = other.#rhythm.mean
      r.variance = other.#rhythm.variance
    }
    if (other.#walk !== undefined) {
      const w = (this.#walk ??= new Walk())
      const o = other.#walk
      if (o.maxRun > w.maxRun) w.maxRun = o.maxRun
      if (o.run > w.run) w.run = o.run
      w.steps += o.steps
      w.requests += o.requests
      w.errors += o.errors
      if (o.low >= 0) w.low = o.low
      if (o.bins !== undefined) {
        const bins = (w.bins ??= new Uint32Array(8))
        for (let i = 0; i < 8; i++) bins[i] = bins[i]! | o.bins[i]!
      }
    }
    // Clock and day rhythm: align both hour rings on the later hour, union them.
    const thisAction =
      this.#actionOffsetMs === NO_ACTION
        ? -Infinity
        : this.#lastHour * HOUR_MS + this.#actionOffsetMs
    const otherAction =
      other.#actionOffsetMs === NO_ACTION
        ? -Infinity
        : other.#lastHour * HOUR_MS + other.#actionOffsetMs
    const lastMs = Math.max(empty ? -Infinity : this.lastMs, other.lastMs)
    const hour = Math.floor(lastMs / HOUR_MS)
    const shiftA = hour - this.#lastHour
    const shiftB = hour - other.#lastHour
    const a = empty || shiftA >= 24 ? 0 : (this.#hourRing << shiftA) & MASK24
    const b = shiftB >= 24 ? 0 : (other.#hourRing << shiftB) & MASK24
    this.#hourRing = a | b
    this.#restlessSince = empty
      ? other.#restlessSince
      : Math.max(this.#restlessSince, other.#restlessSince)
    this.#lastHour = hour
    this.#msInHour = lastMs - hour * HOUR_MS
    const action = Math.max(thisAction, otherAction)
    const offset = action - hour * HOUR_MS
    this.#actionOffsetMs = action === -Infinity || offset <= NO_ACTION ? NO_ACTION : offset
    this.#nextEvalRequests = Math.min(this.#nextEvalRequests, this.#requests)
    this.#nextEvalRecords = Math.min(this.#nextEvalRecords, this.#records)
  }

  /** Serialises the ledger (snapshots, fleet sync). Holds digests and counts only. */
  toBytes(): Uint8Array {
    // the sketches first, so the writer is sized once (see WindowedDistinct.toBytes)
    const distinct = this.#distinct?.toBytes()
    const tiers = (this.#tiers ?? []).map((d) => d?.toBytes())
    // A shared tier is written as its own sketch: the format knows no sharing.
    if (this.#sole > 0) {
      while (tiers.length <= this.#sole) tiers.push(undefined)
      tiers[this.#sole] = distinct
    }
    const window = this.#window?.toBytes()
    let size = 256 + (distinct?.length ?? 0) + (window?.length ?? 0)
    for (const t of tiers) size += (t?.length ?? 0) + 4
    const w = new Writer(size)
    w.varint(FORMAT_VERSION)
    const h = this.#headers ?? new Headers()
    const walk = this.#walk ?? new Walk()
    const ints = [
      this.#requests,
      this.#records,
      this.#sample,
      this.#pages,
      this.#assets,
      this.#pagesNoReferer,
      this.#errors,
      this.#lastHour,
      this.#msInHour,
      this.#actionOffsetMs - NO_ACTION,
      this.#hourRing,
      this.#restlessSince,
      this.#nextEvalRequests,
      this.#nextEvalRecords,
      this.#flags & 0xff & ~(LEDGER_FLAG.allowlisted | LEDGER_FLAG.checked | LEDGER_FLAG.decided),
      h.anomalous,
      h.automation,
      h.noAcceptLanguage,
      h.hintMismatch,
      h.foreignHeaders,
      h.noUserAgent,
      walk.low + 1,
      walk.run,
      walk.maxRun,
      walk.steps,
      walk.requests,
      walk.errors,
      this.#rhythm?.gaps ?? 0,
      // the crowd bitmap in two 16-bit halves (counters are read back as 31-bit at most)
      this.#crowd & 0xffff,
      this.#crowd >>> 16,
    ]
    w.varint(ints.length)
    for (const v of ints) w.varint(v)
    w.f64(this.#rhythm?.mean ?? 0)
    w.f64(this.#rhythm?.variance ?? 0)
    w.blob(distinct)
    w.varint(tiers.length)
    for (const d of tiers) w.blob(d)
    w.blob(window)
    const bins = this.#walk?.bins
    w.blob(bins === undefined ? undefined : new Uint8Array(bins.buffer.slice(0)))
    return w.finish()
  }

  /**
   * Decodes {@link Ledger.toBytes}. With `sketches: false` the distinct-record sketches are
   * skipped, neither decoded nor checked (distinct readings are then 0): what
   * {@link refreshView} needs of a peer whose sketches the view already holds.
   * @throws HarvestGuardError HG_LEDGER_CORRUPT (or the sketches' HG_SKETCH_CORRUPT) on bad bytes.
   */
  static fromBytes(
    bytes: Uint8Array,
    windows: Windows,
    options: { readonly sketches?: boolean } = {},
  ): Ledger {
    const sketches = options.sketches ?? true
    const r = new Reader(bytes)
    const version = r.varint()
    if (version !== FORMAT_VERSION) r.fail(`unknown ledger format ${version}`)
    const count = r.varint()
    // bytes written before the crowd was kept have 2 counters fewer (crowd unknown: 0)
    if (count !== INT_COUNT && count !== INT_COUNT - 2) {
      r.fail(`expected ${INT_COUNT} counters, got ${count}`)
    }
    const v: number[] = []
    for (let i = 0; i < count; i++) {
      const x = r.varint()
      if (x > 0x7fffffff) r.fail('counter out of range')
      v.push(x)
    }
    const l = new Ledger()
    // Bytes keep every tier apart (see toBytes).
    l.#sole = SOLE_NONE
    let i = 0
    const next = () => v[i++]!
    l.#requests = next()
    l.#records = next()
    l.#sample = next()
    l.#pages = next()
    l.#assets = next()
    l.#pagesNoReferer = next()
    l.#errors = next()
    l.#lastHour = next()
    l.#msInHour = next()
    l.#actionOffsetMs = next() + NO_ACTION
    l.#hourRing = next()
    l.#restlessSince = next()
    l.#nextEvalRequests = next()
    l.#nextEvalRecords = next()
    l.#flags = next() & 0xff
    const h = new Headers()
    h.anomalous = next()
    h.automation = next()
    h.noAcceptLanguage = next()
    h.hintMismatch = next()
    h.foreignHeaders = next()
    h.noUserAgent = next()
    if (h.anomalous > 0) l.#headers = h
    const walk = new Walk()
    walk.low = next() - 1
    walk.run = next()
    walk.maxRun = next()
    walk.steps = next()
    walk.requests = next()
    walk.errors = next()
    const gaps = next()
    if (count === INT_COUNT) {
      const low = next()
      const high = next()
      if (low > 0xffff || high > 0xffff) r.fail('counter out of range')
      l.#crowd = low | (high << 16)
    }
    if (l.#hourRing > MASK24 || walk.low > 65535 || l.#msInHour >= HOUR_MS) {
      r.fail('counter out of range')
    }
    const mean = r.f64()
    const variance = r.f64()
    if (gaps > 0) {
      const rhythm = new Rhythm()
      rhythm.gaps = gaps
      rhythm.mean = mean
      rhythm.variance = variance
      l.#rhythm = rhythm
    }
    const distinct = r.blob()
    if (distinct !== undefined && sketches) {
      l.#distinct = WindowedDistinct.fromBytes(distinct, windows)
    }
    const tierCount = r.varint()
    if (tierCount > 255) r.fail('too many tiers')
    if (tierCount > 0) {
      const tiers: (WindowedDistinct | undefined)[] = []
      for (let k = 0; k < tierCount; k++) {
        const b = r.blob()
        tiers.push(
          b === undefined || !sketches ? undefined : WindowedDistinct.fromBytes(b, windows),
        )
      }
      if (sketches) l.#tiers = tiers
    }
    const win = r.blob()
    if (win !== undefined) l.#window = WindowedCounter.fromBytes(win, windows)
    const bins = r.blob()
    if (bins !== undefined) {
      if (bins.length !== 32) r.fail('ordinal bins must be 32 bytes')
      walk.bins = new Uint32Array(bins.slice().buffer)
    }
    if (walk.requests > 0 || walk.low >= 0) l.#walk = walk
    r.end()
    return l
  }
}

const INT_COUNT = 30
// PRINCIPAL_KINDS index of key: (policy.ts checks the order at load).
const KIND_KEY = KIND.key

/** One of 32 bits picked by the request's device principal (its digest's last hex digits). */
function deviceBit(principals: readonly string[]): number {
  for (let i = 0; i < principals.length; i++) {
    const p = principals[i]!
    if (p.charCodeAt(0) === 100 /* d */ && p.startsWith('device:')) {
      const n = p.length
      return 1 << ((p.charCodeAt(n - 1) * 31 + p.charCodeAt(n - 2) * 7 + p.charCodeAt(n - 3)) & 31)
    }
  }
  return 0
}

/** Whether a request carried a partner key principal. */
function hasKey(principals: readonly string[]): boolean {
  for (let i = 0; i < principals.length; i++) {
    const p = principals[i]!
    if (p.charCodeAt(0) === 107 /* k */ && p.startsWith('key:')) return true
  }
  return false
}

// ---------------------------------------------------------------------------------------------
// A tiny byte codec (the sketches keep theirs private to their part).

class Writer {
  #buf: Uint8Array
  #len = 0
  constructor(capacity: number) {
    this.#buf = new Uint8Array(Math.max(16, capacity))
  }
  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return
    let cap = this.#buf.length * 2
    while (cap < this.#len + n) cap *= 2
    const next = new Uint8Array(cap)
    next.set(this.#buf.subarray(0, this.#len))
    this.#buf = next
  }
  varint(value: number): void {
    this.#ensure(8)
    let v = value
    while (v >= 128) {
      this.#buf[this.#len++] = (v % 128) | 128
      v = Math.floor(v / 128)
    }
    this.#buf[this.#len++] = v
  }
  f64(value: number): void {
    this.#ensure(8)
    new DataView(this.#buf.buffer).setFloat64(this.#len, value, true)
    this.#len += 8
  }
  /** Length-prefixed bytes; length 0 means absent (no sketch serialises to 0 bytes). */
  blob(bytes: Uint8Array | undefined): void {
    if (bytes === undefined) {
      this.varint(0)
      return
    }
    this.varint(bytes.length)
    this.#ensure(bytes.length)
    this.#buf.set(bytes, this.#len)
    this.#len += bytes.length
  }
  finish(): Uint8Array {
    // a buffer sized well up front is handed out as is (a view of it), not copied
    const len = this.#len
    return len >= this.#buf.length - (this.#buf.length >>> 2)
      ? this.#buf.subarray(0, len)
      : this.#buf.slice(0, len)
  }
}

class Reader {
  readonly #buf: Uint8Array
  #pos = 0
  constructor(buf: unknown) {
    if (!(buf instanceof Uint8Array)) {
      throw new HarvestGuardError(LEDGER_CORRUPT, 'ledger bytes: expected a Uint8Array')
    }
    this.#buf = buf
  }
  fail(message: string): never {
    throw new HarvestGuardError(LEDGER_CORRUPT, `ledger bytes at ${this.#pos}: ${message}`)
  }
  varint(): number {
    let value = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      if (this.#pos >= this.#buf.length) this.fail('truncated')
      const b = this.#buf[this.#pos++]!
      value += (b & 127) * scale
      if (b < 128) {
        if (value > Number.MAX_SAFE_INTEGER) this.fail('varint exceeds 2^53')
        return value
      }
      scale *= 128
    }
    return this.fail('varint longer than 8 bytes')
  }
  f64(): number {
    if (this.#pos + 8 > this.#buf.length) this.fail('truncated')
    const v = new DataView(this.#buf.buffer, this.#buf.byteOffset).getFloat64(this.#pos, true)
    this.#pos += 8
    if (!Number.isFinite(v)) this.fail('not a finite number')
    return v
  }
  blob(): Uint8Array | undefined {
    const n = this.varint()
    if (n === 0) return undefined
    if (this.#pos + n > this.#buf.length) this.fail('truncated inside a sketch')
    const out = this.#buf.subarray(this.#pos, this.#pos + n)
    this.#pos += n
    return out
  }
  end(): void {
    if (this.#pos !== this.#buf.length) this.fail('trailing bytes')
  }
}
