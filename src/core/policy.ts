/**
 * Policy: what the engine considers too much, for whom, and what it does about it. The config
 * section (src/config/policy-schema.ts, where every default lives) is compiled once here into
 * flat arrays indexed by principal kind, window, signal and action, so that per-event work is
 * lookups and arithmetic and every ledger shares one compiled object.
 */
import { ACTIONS, actionRank, type Action } from './decision.ts'
import { HarvestGuardError } from './errors.ts'
import { FIELD_CLASSES, type FieldClass, type FieldMask, fieldMask } from './exposure.ts'
import { PRINCIPAL_KINDS, type Principal, type PrincipalKind } from './principal.ts'
import { SIGNAL_NAMES, type SignalName } from './signal.ts'
import { Windows } from './sketch/index.ts'

/** Code of a policy that validated but cannot be compiled (e.g. a window the sketches reject). */
export const POLICY_INVALID = 'HG_POLICY_INVALID'

/** Actions a decision can take (everything but allow). */
type Actionable = Exclude<Action, 'allow'>

/** Per-class settings as parsed from config. */
export interface ClassSettings {
  /** Weighted records allowed per window name. */
  readonly budgets: Readonly<Record<string, number>>
  /** Most points the distinct-records signal may add for this class. */
  readonly volumeCap: number
  /** Multiplier per signal (missing: 1). */
  readonly signalWeights: Readonly<Partial<Record<SignalName, number>>>
  /** Distinct records with private contact fields allowed in the private-records window. */
  readonly privateBudget?: number | undefined
  /** The strongest action a decision on this class may take (escalation included). */
  readonly maxAction: Exclude<Action, 'allow'>
}

/**
 * The parsed `policy:` section, every default applied (the output of `policySchema` in
 * src/config/policy-schema.ts; core declares the shape so that it imports nothing outside core).
 */
export interface PolicySettings {
  readonly shadow: boolean
  readonly precision: number
  readonly exactLimit: number
  readonly windows: readonly {
    readonly name: string
    readonly window: number
    readonly buckets: number
  }[]
  readonly classes: Readonly<Record<PrincipalKind, ClassSettings>>
  readonly fieldWeights: Readonly<Record<FieldClass, number>>
  readonly protectedFields: readonly FieldClass[]
  readonly allowlist: {
    readonly networks: readonly string[]
    readonly principals: readonly string[]
  }
  readonly thresholds: Readonly<Record<Actionable, number>>
  readonly ttl: Readonly<Record<Actionable, number>>
  readonly escalation: {
    readonly enabled: boolean
    readonly after: number
    readonly from: Actionable
  }
  readonly evaluation: { readonly everyRequests: number; readonly everyRecords: number }
  readonly signals: {
    readonly 'distinct-records': { readonly pointsAtBudget: number }
    readonly enumeration: {
      readonly minRun: number
      readonly step: number
      readonly minDensity: number
      readonly points: number
    }
    readonly periodicity: {
      readonly minGaps: number
      readonly maxCv: number
      readonly maxGap: number
      readonly points: number
    }
    readonly 'round-the-clock': {
      readonly minDays: number
      readonly minActiveHours: number
      readonly points: number
    }
    readonly 'no-assets': {
      readonly minPages: number
      readonly minShare: number
      readonly points: number
    }
    readonly 'no-referer': {
      readonly minPages: number
      readonly minShare: number
      readonly points: number
    }
    readonly 'header-anomalies': {
      readonly minRequests: number
      readonly automationPoints: number
      readonly otherPoints: number
      readonly minShare: number
    }
    readonly 'error-ratio': {
      readonly minRequests: number
      readonly minShare: number
      readonly points: number
    }
    readonly 'no-context': {
      readonly minRecords: number
      readonly points: number
    }
    readonly 'private-records': {
      /** Name of the window the private budgets refer to (absent: `24h` if it exists, else the longest). */
      readonly window?: string | undefined
      readonly pointsAtBudget: number
      /**
       * Budget over the longest window, in multiples of the class's privateBudget (0: not
       * judged there).
       */
      readonly longestWindowMultiple: number
    }
  }
  readonly actors: {
    readonly enabled: boolean
    readonly maxNodes: number
    readonly maxLinks: number
    readonly sharedAfter: number
    readonly deviceSharedAfter: number
  }
}

/** One principal class, compiled. */
export interface CompiledClass {
  readonly kind: PrincipalKind
  /** Budget per window index (weighted records); Infinity where the class has none. */
  readonly budgets: Float64Array
  readonly volumeCap: number
  /** Multiplier per signal index (SIGNAL_NAMES order). */
  readonly signalWeights: Float64Array
  /** Private-records budget; Infinity where the class has none. */
  readonly privateBudget: number
  /** Rank of the strongest action a decision on this class may take. */
  readonly maxRank: number
}

/**
 * A policy compiled for the hot path; one object shared by every ledger of an engine.
 * Build it with {@link compilePolicy}.
 */
export interface CompiledPolicy {
  readonly settings: PolicySettings
  readonly shadow: boolean
  readonly windows: Windows
  readonly windowNames: readonly string[]
  /** Index of the window the private-records signal judges. */
  readonly privateWindow: number
  /** By kind index (PRINCIPAL_KINDS order). */
  readonly classes: readonly CompiledClass[]
  /**
   * Weight tier of a field mask: the index into {@link tierWeights} of the heaviest class in
   * the mask. Tier 0 is weight 1 (counted by the all-records sketch alone, no extra sketch).
   */
  readonly tierOfMask: Uint8Array
  /** Weight of each tier; tierWeights[0] === 1. */
  readonly tierWeights: readonly number[]
  /**
   * Records between re-scorings by kind index: `evaluation.everyRecords`, or a 64th of the
   * class's smallest budget when larger (a busy shared identity need not be re-scored every 16).
   */
  readonly recordSteps: Int32Array
  /** Field classes masked by `mask` and counted as leakage. */
  readonly protectedMask: FieldMask
  /** Score at or above which each action applies, by action rank (allow: -Infinity). */
  readonly thresholds: Float64Array
  /** Lifetime of a decision by action rank, milliseconds (allow: 0). */
  readonly ttlMs: Float64Array
  /** Whether a principal string is exempt from judgement. */
  isAllowlisted(principal: Principal): boolean
}

/** Kind index of a principal string, -1 when it is not one (hot path: no throw, no slice). */
export function kindIndex(principal: string): number {
  switch (principal.charCodeAt(0)) {
    case 105 /* i */:
      return principal.startsWith('ip:') ? 0 : -1
    case 110 /* n */:
      return principal.startsWith('net:') ? 1 : -1
    case 97 /* a */:
      return principal.startsWith('account:') ? 2 : -1
    case 107 /* k */:
      return principal.startsWith('key:') ? 3 : -1
    case 115 /* s */:
      return principal.startsWith('session:') ? 4 : -1
    case 100 /* d */:
      return principal.startsWith('device:') ? 5 : -1
    default:
      return -1
  }
}

// PRINCIPAL_KINDS order is relied on by kindIndex; fail loudly at load if it ever changes.
if (PRINCIPAL_KINDS.join() !== 'ip,net,account,key,session,device') {
  throw new Error('PRINCIPAL_KINDS order changed: update kindIndex in core/policy.ts')
}

/** Score -> action for a compiled policy. */
export function actionForScore(policy: CompiledPolicy, score: number): Action {
  const t = policy.thresholds
  for (let r = ACTIONS.length - 1; r > 0; r--) if (score >= (t[r] as number)) return ACTIONS[r]!
  return 'allow'
}

/** Compiles a parsed `policy:` section. @throws HarvestGuardError HG_POLICY_INVALID */
export function compilePolicy(settings: PolicySettings): CompiledPolicy {
  let windows: Windows
  try {
    windows = new Windows(
      settings.windows.map((w) => ({ name: w.name, windowMs: w.window, buckets: w.buckets })),
      { precision: settings.precision, sparseLimit: settings.exactLimit },
    )
  } catch (cause) {
    throw new HarvestGuardError(POLICY_INVALID, `policy.windows: ${(cause as Error).message}`, {
      cause,
    })
  }
  const windowNames = settings.windows.map((w) => w.name)
  const classes = PRINCIPAL_KINDS.map((kind): CompiledClass => {
    const cls = settings.classes[kind]
    const budgets = new Float64Array(windowNames.length).fill(Infinity)
    for (const [name, budget] of Object.entries(cls.budgets)) {
      const w = windowNames.indexOf(name)
      if (w < 0) {
        throw new HarvestGuardError(
          POLICY_INVALID,
          `policy.classes.${kind}.budgets.${name}: no window named '${name}'`,
        )
      }
      budgets[w] = budget
    }
    const signalWeights = new Float64Array(SIGNAL_NAMES.length).fill(1)
    for (const [name, weight] of Object.entries(cls.signalWeights)) {
      const i = (SIGNAL_NAMES as readonly string[]).indexOf(name)
      if (i >= 0 && weight !== undefined) signalWeights[i] = weight
    }
    const privateBudget = cls.privateBudget ?? Infinity
    const maxRank = actionRank(cls.maxAction)
    return Object.freeze({
      kind,
      budgets,
      volumeCap: cls.volumeCap,
      signalWeights,
      privateBudget,
      maxRank,
    })
  })
  const privateName = settings.signals['private-records'].window
  let privateWindow = windowNames.indexOf(privateName ?? '24h')
  if (privateWindow < 0) {
    if (privateName !== undefined) {
      throw new HarvestGuardError(
        POLICY_INVALID,
        `policy.signals.private-records.window: no window named '${privateName}'`,
      )
    }
    privateWindow = windowNames.length - 1
  }

  // Tiers: distinct weights other than 1, heaviest class of a record decides its tier.
  const tierWeights = [1]
  for (const c of FIELD_CLASSES) {
    const w = settings.fieldWeights[c]
    if (w !== 1 && !tierWeights.includes(w)) tierWeights.push(w)
  }
  if (tierWeights.length > 255) throw new HarvestGuardError(POLICY_INVALID, 'too many weights')
  const tierOfMask = new Uint8Array(1 << FIELD_CLASSES.length)
  for (let m = 1; m < tierOfMask.length; m++) {
    let best = -1
    for (let i = 0; i < FIELD_CLASSES.length; i++) {
      if ((m & (1 << i)) === 0) continue
      const w = settings.fieldWeights[FIELD_CLASSES[i]!]
      if (w > best) best = w
    }
    tierOfMask[m] = tierWeights.indexOf(best)
  }

  const thresholds = new Float64Array(ACTIONS.length)
  const ttlMs = new Float64Array(ACTIONS.length)
  thresholds[0] = -Infinity
  for (let r = 1; r < ACTIONS.length; r++) {
    const a = ACTIONS[r] as Actionable
    thresholds[r] = settings.thresholds[a]
    ttlMs[r] = settings.ttl[a]
  }

  const networks = settings.allowlist.networks.map((text) => {
    const net = parseCidr(text)
    if (net === undefined) {
      throw new HarvestGuardError(POLICY_INVALID, `policy.allowlist.networks: not a CIDR: ${text}`)
    }
    return net
  })
  const explicit = new Set(settings.allowlist.principals)
  const isAllowlisted = (principal: Principal): boolean => {
    if (explicit.has(principal)) return true
    if (networks.length === 0) return false
    const k = kindIndex(principal)
    if (k !== 0 && k !== 1) return false
    const net = parseCidr(principal.slice(principal.indexOf(':') + 1))
    return net !== undefined && networks.some((n) => cidrContains(n, net))
  }

  const recordSteps = new Int32Array(classes.length)
  for (let k = 0; k < classes.length; k++) {
    const smallest = Math.min(...classes[k]!.budgets)
    const step = Number.isFinite(smallest) ? Math.floor(smallest / 64) : 0
    recordSteps[k] = Math.max(settings.evaluation.everyRecords, step)
  }

  return Object.freeze({
    settings,
    recordSteps,
    shadow: settings.shadow,
    windows,
    windowNames,
    privateWindow,
    classes,
    tierOfMask,
    tierWeights,
    protectedMask: fieldMask(settings.protectedFields),
    thresholds,
    ttlMs,
    isAllowlisted,
  })
}

// ---------------------------------------------------------------------------------------------
// CIDR (pure: core may not use node:net)

/** An address block: 4 x 32-bit words (IPv4 in the last word), prefix length in bits. */
export interface Cidr {
  readonly v6: boolean
  readonly words: readonly [number, number, number, number]
  readonly bits: number
}

function parseV4(text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  let v = 0
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined
    const n = Number(p)
    if (n > 255) return undefined
    v = v * 256 + n
  }
  return v
}

function parseGroups(s: string): number[] | undefined {
  if (s === '') return []
  const out: number[] = []
  const items = s.split(':')
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!
    if (i === items.length - 1 && item.includes('.')) {
      const v4 = parseV4(item)
      if (v4 === undefined) return undefined
      out.push(Math.floor(v4 / 65536), v4 % 65536)
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return undefined
      out.push(parseInt(item, 16))
    }
  }
  return out
}

function parseV6(text: string): [number, number, number, number] | undefined {
  let t = text
  const zone = t.indexOf('%')
  if (zone >= 0) t = t.slice(0, zone)
  const groups: number[] = []
  const halves = t.split('::')
  if (halves.length > 2) return undefined
  const head = parseGroups(halves[0]!)
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : []
  if (head === undefined || tail === undefined) return undefined
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length
    if (fill < 1) return undefined
    groups.push(...head, ...Array.from({ length: fill }, () => 0), ...tail)
  } else {
    if (head.length !== 8) return undefined
    groups.push(...head)
  }
  return [
    groups[0]! * 65536 + groups[1]!,
    groups[2]! * 65536 + groups[3]!,
    groups[4]! * 65536 + groups[5]!,
    groups[6]! * 65536 + groups[7]!,
  ]
}

/** Parses `203.0.113.0/24`, `2001:db8::/32` or a bare address; undefined when not one. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/')
  const addr = slash < 0 ? text : text.slice(0, slash)
  const v4 = addr.includes(':') ? undefined : parseV4(addr)
  const v6 = v4 === undefined ? parseV6(addr) : undefined
  if (v4 === undefined && v6 === undefined) return undefined
  const max = v4 !== undefined ? 32 : 128
  let bits = max
  if (slash >= 0) {
    const b = text.slice(slash + 1)
    if (!/^\d{1,3}$/.test(b)) return undefined
    bits = Number(b)
    if (bits > max) return undefined
  }
  if (v4 !== undefined) return { v6: false, words: [0, 0, 0, v4], bits }
  return { v6: true, words: v6!, bits }
}

/** Whether block `outer` contains block (or address) `inner`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.v6 !== inner.v6 || inner.bits < outer.bits) return false
  const first = outer.v6 ? 0 : 3
  let bits = outer.bits
  for (let i = first; i < 4 && bits > 0; i++) {
    const take = Math.min(32, bits)
    const shift = 32 - take
    const a = Math.floor(outer.words[i]! / 2 ** shift)
    const b = Math.floor(inner.words[i]! / 2 ** shift)
    if (a !== b) return false
    bits -= take
  }
  return true
}
