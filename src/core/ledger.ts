/**
 * The Ledger: what the engine knows about one principal. Distinct records served over sliding
 * windows (one WindowedDistinct for every record, plus one per weight tier other than 1, created
 * only when such a record is first served), and the running state behind each behaviour signal.
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
import { WindowedCounter, WindowedDistinct, type Windows } from './sketch/index.ts'

/** Code of ledger bytes that cannot be decoded (corrupt snapshot or fleet state). */
export const LEDGER_CORRUPT = 'HG_LEDGER_CORRUPT'

/** Requests after which the ratio counters are halved, so they describe recent behaviour. */
export const SAMPLE_SPAN = 4096

const HOUR_MS = 3_600_000
const FORMAT_VERSION = 1
const MASK24 = 0xffffff
// Periodicity: gaps are averaged with weight 1/n up to this many, then exponentially.
const GAP_HORIZON = 64

/** Bits of {@link Ledger.flags}. */
export const LEDGER_FLAG = Object.freeze({
  /** The principal is allowlisted: never judged, nothing counted. */
  allowlisted: 1,
  /** Allowlisting was computed. */
  checked: 2,
} as const)

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff
}

/** Per-principal exposure and behaviour state. Create through a LedgerStore. */
export class Ledger {
  // Exposure accounting.
  #distinct: WindowedDistinct | undefined = undefined
  #tiers: (WindowedDistinct | undefined)[] | undefined = undefined
  #window: WindowedCounter | undefined = undefined
  #firstMs = 0
  #lastMs = 0
  #requests = 0
  #records = 0
  // Ratio sample (halved every SAMPLE_SPAN requests).
  #sample = 0
  #pages = 0
  #assets = 0
  #pagesNoReferer = 0
  #errors = 0
  #ordinalRequests = 0
  #ordinalErrors = 0
  #anomalous = 0
  #automation = 0
  #noAcceptLanguage = 0
  #hintMismatch = 0
  #foreignHeaders = 0
  #noUserAgent = 0
  // Periodicity: exponentially weighted mean and variance of gaps between non-asset requests.
  #lastActionMs = 0
  #gaps = 0
  #gapMean = 0
  #gapVar = 0
  // Round-the-clock: activity in each of the last 24 hours (bit 0 = hour of lastHour) and the
  // hour since which the principal has not rested.
  #hourRing = 0
  #lastHour = 0
  #restlessSince = 0
  // Enumeration: low 16 bits of the last ordinal, current and longest run of near steps, steps
  // taken, and a 256-bit map of coarse bins (low16 >> 8) once ordinals are frequent.
  #ordLow = -1
  #run = 0
  #maxRun = 0
  #steps = 0
  #bins: Uint32Array | undefined = undefined
  // Engine bookkeeping (not signal state).
  #nextEvalRequests = 1
  #nextEvalRecords = 0
  #flags = 0

  // ------------------------------------------------------------------------------------------
  // Recording

  /**
   * Accounts one event. Returns true when a checkpoint is crossed and the engine should re-score
   * the principal (every few requests while young, then every `evaluation.everyRequests`
   * requests or `evaluation.everyRecords` records).
   */
  record(event: Event, policy: CompiledPolicy): boolean {
    const t = event.timeMs
    if (this.#requests === 0) {
      this.#firstMs = t
      this.#lastHour = Math.floor(t / HOUR_MS)
      this.#restlessSince = this.#lastHour
    }
    if (t > this.#lastMs) this.#lastMs = t
    const requests = ++this.#requests
    if (requests >= 8) {
      let w = this.#window
      if (w === undefined) {
        w = new WindowedCounter(policy.windows)
        w.add(this.#firstMs, requests - 1)
        this.#window = w
      }
      w.add(t)
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
      for (let i = 0; i < n; i++) {
        const e = exposures[i]!
        const fields = e.fields
        if (fields === 0) continue
        d.add(e.subject, t)
        const tier = tierOfMask[fields & 511]!
        if (tier !== 0) this.#tierSketch(tier, policy.windows).add(e.subject, t)
      }
      this.#records += n
    }

    // Ratio sample.
    if (++this.#sample > SAMPLE_SPAN) this.#halve()
    const resource = event.resource
    if (resource === 'page') {
      this.#pages++
      if (!event.client.referer) this.#pagesNoReferer++
    } else if (resource === 'asset') {
      this.#assets++
    }
    const status = event.status
    const failed = status >= 400 && status < 500
    if (failed) this.#errors++
    const a = event.client.anomalies
    if (a !== 0) {
      this.#anomalous++
      if ((a & ANOMALY.automationAgent) !== 0) this.#automation++
      if ((a & ANOMALY.noAcceptLanguage) !== 0) this.#noAcceptLanguage++
      if ((a & ANOMALY.clientHintMismatch) !== 0) this.#hintMismatch++
      if ((a & ANOMALY.foreignHeaders) !== 0) this.#foreignHeaders++
      if ((a & ANOMALY.noUserAgent) !== 0) this.#noUserAgent++
    }

    // Periodicity: rhythm of actions (assets ride along with pages in bursts).
    if (resource !== 'asset') {
      const last = this.#lastActionMs
      if (last !== 0) {
        const gap = t - last
        if (gap >= 0 && gap <= policy.settings.signals.periodicity.maxGap) {
          const g = ++this.#gaps
          const alpha = g < GAP_HORIZON ? 1 / g : 1 / GAP_HORIZON
          const diff = gap - this.#gapMean
          const incr = alpha * diff
          this.#gapMean += incr
          this.#gapVar = (1 - alpha) * (this.#gapVar + diff * incr)
        }
      }
      if (t > last) this.#lastActionMs = t
    }

    // Round-the-clock.
    const hour = Math.floor(t / HOUR_MS)
    const ahead = hour - this.#lastHour
    if (ahead > 0) {
      const restHours = 24 - policy.settings.signals['round-the-clock'].minActiveHours
      if (ahead - 1 > restHours) this.#restlessSince = hour
      this.#hourRing = ahead >= 24 ? 0 : (this.#hourRing << ahead) & MASK24
      this.#lastHour = hour
      this.#hourRing |= 1
    } else if (ahead > -24) {
      this.#hourRing |= 1 << -ahead
    }

    // Enumeration.
    const ordinal = event.ordinal
    if (ordinal >= 0) {
      this.#ordinalRequests++
      if (failed) this.#ordinalErrors++
      const low = ordinal % 65536
      const prev = this.#ordLow
      this.#ordLow = low
      if (prev >= 0) {
        let step = low - prev
        if (step > 32767) step -= 65536
        else if (step < -32768) step += 65536
        if (step !== 0) {
          const steps = ++this.#steps
          const max = policy.settings.signals.enumeration.step
          if (step <= max && step >= -max) {
            if (++this.#run > this.#maxRun) this.#maxRun = this.#run
          } else {
            this.#run = 0
          }
          if (steps >= 8) {
            let bins = this.#bins
            if (bins === undefined) {
              bins = new Uint32Array(8)
              this.#bins = bins
            }
            const bin = low >>> 8
            bins[bin >>> 5] = bins[bin >>> 5]! | (1 << (bin & 31))
          }
        }
      }
    }

    // Checkpoints.
    if (requests >= this.#nextEvalRequests || this.#records >= this.#nextEvalRecords) {
      const every = policy.settings.evaluation
      this.#nextEvalRequests =
        requests < every.everyRequests ? requests * 2 : requests + every.everyRequests
      this.#nextEvalRecords = this.#records + every.everyRecords
      return true
    }
    return false
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
    this.#ordinalRequests >>= 1
    this.#ordinalErrors >>= 1
    this.#anomalous >>= 1
    this.#automation >>= 1
    this.#noAcceptLanguage >>= 1
    this.#hintMismatch >>= 1
    this.#foreignHeaders >>= 1
    this.#noUserAgent >>= 1
    this.#maxRun = this.#run
    this.#steps >>= 1
    this.#bins = undefined
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
    const d = this.#tiers?.[tier]
    return d === undefined ? 0 : d.estimate(w, timeMs)
  }

  /** Requests in window `w` as of `timeMs`. */
  requestsIn(w: number, timeMs: number): number {
    if (this.#window !== undefined) return this.#window.total(w, timeMs)
    return this.#lastMs >= timeMs - this.#windowMs(w) ? this.#requests : 0
  }

  #windowMs(w: number): number {
    return this.#window?.windows.specs[w]?.windowMs ?? Infinity
  }

  /** Event time of the first and latest request. */
  get firstMs(): number {
    return this.#firstMs
  }
  get lastMs(): number {
    return this.#lastMs
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
  get pagesNoReferer(): number {
    return this.#pagesNoReferer
  }
  /** 4xx responses in the sample. */
  get errors(): number {
    return this.#errors
  }
  /** Requests naming an ordinal, and 4xx among them, in the sample. */
  get ordinalRequests(): number {
    return this.#ordinalRequests
  }
  get ordinalErrors(): number {
    return this.#ordinalErrors
  }
  /** Requests with any header anomaly, and per kind. */
  get anomalous(): number {
    return this.#anomalous
  }
  get automation(): number {
    return this.#automation
  }
  get noAcceptLanguage(): number {
    return this.#noAcceptLanguage
  }
  get hintMismatch(): number {
    return this.#hintMismatch
  }
  get foreignHeaders(): number {
    return this.#foreignHeaders
  }
  get noUserAgent(): number {
    return this.#noUserAgent
  }
  /** Inter-arrival gaps measured, their mean and standard deviation (ms). */
  get gaps(): number {
    return this.#gaps
  }
  get gapMeanMs(): number {
    return this.#gapMean
  }
  get gapStdMs(): number {
    return Math.sqrt(this.#gapVar)
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
    return this.#maxRun
  }
  get run(): number {
    return this.#run
  }
  /** Steps between different ordinals in the sample. */
  get ordinalSteps(): number {
    return this.#steps
  }
  /** Coarse bins (of 256) the ordinals fell into since bins were started, 0 when not started. */
  get ordinalBins(): number {
    const b = this.#bins
    if (b === undefined) return 0
    let n = 0
    for (let i = 0; i < 8; i++) n += popcount(b[i]!)
    return n
  }
  /** Engine flags ({@link LEDGER_FLAG}). */
  get flags(): number {
    return this.#flags
  }
  set flags(value: number) {
    this.#flags = value
  }

  /** Approximate bytes retained (object, sketches, typed arrays). */
  get heapBytes(): number {
    let bytes = 12 + 36 * 4 + 6 * 12
    if (this.#distinct !== undefined) bytes += this.#distinct.heapBytes
    if (this.#tiers !== undefined) {
      bytes += 16 + 4 * this.#tiers.length
      for (const d of this.#tiers) if (d !== undefined) bytes += d.heapBytes
    }
    if (this.#window !== undefined) bytes += this.#window.heapBytes
    if (this.#bins !== undefined) bytes += 100
    return bytes
  }

  // ------------------------------------------------------------------------------------------
  // Merge and bytes

  /**
   * Merges another ledger of the same principal (a fleet peer's delta, a restored snapshot):
   * sketches by union, counters by addition, behaviour state by the stronger evidence.
   */
  merge(other: Ledger, policy: CompiledPolicy): void {
    if (other === this) return
    const windows = policy.windows
    if (other.#distinct !== undefined) {
      if (this.#distinct === undefined) this.#distinct = new WindowedDistinct(windows)
      this.#distinct.merge(other.#distinct)
    }
    if (other.#tiers !== undefined) {
      for (let i = 1; i < other.#tiers.length; i++) {
        const d = other.#tiers[i]
        if (d !== undefined) this.#tierSketch(i, windows).merge(d)
      }
    }
    if (other.#window !== undefined) {
      if (this.#window === undefined) {
        this.#window = new WindowedCounter(windows)
        if (this.#requests > 0) this.#window.add(this.#lastMs, this.#requests)
      }
      this.#window.merge(other.#window)
    } else if (other.#requests > 0 && this.#window !== undefined) {
      this.#window.add(other.#lastMs, other.#requests)
    }
    if (this.#requests === 0 || (other.#requests > 0 && other.#firstMs < this.#firstMs)) {
      this.#firstMs = other.#firstMs
    }
    this.#lastMs = Math.max(this.#lastMs, other.#lastMs)
    this.#requests += other.#requests
    this.#records += other.#records
    this.#sample += other.#sample
    this.#pages += other.#pages
    this.#assets += other.#assets
    this.#pagesNoReferer += other.#pagesNoReferer
    this.#errors += other.#errors
    this.#ordinalRequests += other.#ordinalRequests
    this.#ordinalErrors += other.#ordinalErrors
    this.#anomalous += other.#anomalous
    this.#automation += other.#automation
    this.#noAcceptLanguage += other.#noAcceptLanguage
    this.#hintMismatch += other.#hintMismatch
    this.#foreignHeaders += other.#foreignHeaders
    this.#noUserAgent += other.#noUserAgent
    if (other.#gaps > this.#gaps) {
      this.#gaps = other.#gaps
      this.#gapMean = other.#gapMean
      this.#gapVar = other.#gapVar
    }
    this.#lastActionMs = Math.max(this.#lastActionMs, other.#lastActionMs)
    if (other.#requests > 0) {
      const hour = Math.max(this.#lastHour, other.#lastHour)
      const shiftA = hour - this.#lastHour
      const shiftB = hour - other.#lastHour
      const a = shiftA >= 24 ? 0 : (this.#hourRing << shiftA) & MASK24
      const b = shiftB >= 24 ? 0 : (other.#hourRing << shiftB) & MASK24
      this.#hourRing = a | b
      this.#restlessSince =
        this.#requests === other.#requests
          ? other.#restlessSince
          : Math.max(this.#restlessSince, other.#restlessSince)
      this.#lastHour = hour
    }
    if (other.#maxRun > this.#maxRun) this.#maxRun = other.#maxRun
    if (other.#run > this.#run) this.#run = other.#run
    this.#steps += other.#steps
    if (other.#ordLow >= 0) this.#ordLow = other.#ordLow
    if (other.#bins !== undefined) {
      if (this.#bins === undefined) this.#bins = new Uint32Array(8)
      for (let i = 0; i < 8; i++) this.#bins[i] = this.#bins[i]! | other.#bins[i]!
    }
    this.#nextEvalRequests = Math.min(this.#nextEvalRequests, this.#requests)
    this.#nextEvalRecords = Math.min(this.#nextEvalRecords, this.#records)
  }

  /** Serialises the ledger (snapshots, fleet sync). Holds digests and counts only. */
  toBytes(): Uint8Array {
    const w = new Writer()
    w.varint(FORMAT_VERSION)
    const ints = [
      this.#requests,
      this.#records,
      this.#sample,
      this.#pages,
      this.#assets,
      this.#pagesNoReferer,
      this.#errors,
      this.#ordinalRequests,
      this.#ordinalErrors,
      this.#anomalous,
      this.#automation,
      this.#noAcceptLanguage,
      this.#hintMismatch,
      this.#foreignHeaders,
      this.#noUserAgent,
      this.#gaps,
      this.#hourRing,
      this.#lastHour,
      this.#restlessSince,
      this.#ordLow + 1,
      this.#run,
      this.#maxRun,
      this.#steps,
      this.#nextEvalRequests,
      this.#nextEvalRecords,
      this.#flags & ~(LEDGER_FLAG.allowlisted | LEDGER_FLAG.checked),
    ]
    w.varint(ints.length)
    for (const v of ints) w.varint(v)
    for (const v of [
      this.#firstMs,
      this.#lastMs,
      this.#lastActionMs,
      this.#gapMean,
      this.#gapVar,
    ]) {
      w.f64(v)
    }
    w.blob(this.#distinct?.toBytes())
    const tiers = this.#tiers ?? []
    w.varint(tiers.length)
    for (const d of tiers) w.blob(d?.toBytes())
    w.blob(this.#window?.toBytes())
    w.blob(this.#bins === undefined ? undefined : new Uint8Array(this.#bins.buffer.slice(0)))
    return w.finish()
  }

  /**
   * Decodes {@link Ledger.toBytes}.
   * @throws HarvestGuardError HG_LEDGER_CORRUPT (or the sketches' HG_SKETCH_CORRUPT) on bad bytes.
   */
  static fromBytes(bytes: Uint8Array, windows: Windows): Ledger {
    const r = new Reader(bytes)
    const version = r.varint()
    if (version !== FORMAT_VERSION) r.fail(`unknown ledger format ${version}`)
    const count = r.varint()
    if (count !== 26) r.fail(`expected 26 counters, got ${count}`)
    const v: number[] = []
    for (let i = 0; i < count; i++) v.push(r.varint())
    const l = new Ledger()
    ;[
      l.#requests,
      l.#records,
      l.#sample,
      l.#pages,
      l.#assets,
      l.#pagesNoReferer,
      l.#errors,
      l.#ordinalRequests,
      l.#ordinalErrors,
      l.#anomalous,
      l.#automation,
      l.#noAcceptLanguage,
      l.#hintMismatch,
      l.#foreignHeaders,
      l.#noUserAgent,
      l.#gaps,
      l.#hourRing,
      l.#lastHour,
      l.#restlessSince,
      l.#ordLow,
      l.#run,
      l.#maxRun,
      l.#steps,
      l.#nextEvalRequests,
      l.#nextEvalRecords,
      l.#flags,
    ] = v as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ]
    l.#ordLow -= 1
    if (l.#hourRing > MASK24 || l.#ordLow > 65535) r.fail('counter out of range')
    l.#firstMs = r.f64()
    l.#lastMs = r.f64()
    l.#lastActionMs = r.f64()
    l.#gapMean = r.f64()
    l.#gapVar = r.f64()
    const distinct = r.blob()
    if (distinct !== undefined) l.#distinct = WindowedDistinct.fromBytes(distinct, windows)
    const tierCount = r.varint()
    if (tierCount > 255) r.fail('too many tiers')
    if (tierCount > 0) {
      const tiers: (WindowedDistinct | undefined)[] = []
      for (let i = 0; i < tierCount; i++) {
        const b = r.blob()
        tiers.push(b === undefined ? undefined : WindowedDistinct.fromBytes(b, windows))
      }
      l.#tiers = tiers
    }
    const win = r.blob()
    if (win !== undefined) l.#window = WindowedCounter.fromBytes(win, windows)
    const bins = r.blob()
    if (bins !== undefined) {
      if (bins.length !== 32) r.fail('ordinal bins must be 32 bytes')
      l.#bins = new Uint32Array(bins.slice().buffer)
    }
    r.end()
    return l
  }
}

// ---------------------------------------------------------------------------------------------
// A tiny byte codec (the sketches keep theirs private to their part).

class Writer {
  #buf = new Uint8Array(128)
  #len = 0
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
    return this.#buf.slice(0, this.#len)
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
