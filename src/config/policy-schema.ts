/**
 * The `policy:` section of the configuration: budgets and thresholds per principal class,
 * field-class weights, allowlists, score -> action mapping with decision lifetimes, escalation,
 * signal parameters and shadow mode. Every default of the policy is written here, once; the
 * engine compiles the parsed section with `compilePolicy` (src/core/policy.ts).
 *
 * Budgets are in weighted records: a record counts with the weight of its heaviest field class
 * served in the clear (a phone number 3, a name 1, a comment 0.25), so `300` means 300 profiles
 * or 100 phone numbers. The defaults are sized against the threat model's benign populations
 * (B1-B6: a heavy shopper reads thousands of comment authors a day, a partner service desk looks
 * up to 2,000 customers a day in business hours, hundreds of users share one NAT address) and
 * leave the rest to behaviour signals and actor aggregation.
 */
import { z } from 'zod'
import {
  ACTIONS,
  FIELD_CLASSES,
  PRINCIPAL_KINDS,
  SIGNAL_NAMES,
  parseCidr,
  type ClassSettings,
  type FieldClass,
  type PolicySettings,
  type PrincipalKind,
} from '../core/index.ts'
import { durationSchema } from './duration.ts'

const points = z.number({ error: 'expected a number of points >= 0' }).min(0).max(10_000)
const ratio = z.number({ error: 'expected a ratio between 0 and 1' }).min(0).max(1)
const count = (min = 1) =>
  z
    .number({ error: `expected an integer >= ${min}` })
    .int({ error: `expected an integer >= ${min}` })
    .min(min)

const windowSchema = z.strictObject({
  /** Name used in budgets and notes, e.g. `24h`. */
  name: z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, { error: 'expected a short name like 24h' }),
  window: durationSchema({ minMs: 60_000, maxMs: 366 * 86_400_000 }),
  buckets: count(1).max(1024),
})

// Few buckets per window: a dense distinct sketch holds one HyperLogLog per bucket, so buckets
// are memory (a busy shared identity: 24 x 2 KiB at precision 11), and budgets do not need
// finer slides than 10 minutes, 3 hours and 3 days.
const DEFAULT_WINDOWS = [
  { name: '1h', window: '1h', buckets: 6 },
  { name: '24h', window: '24h', buckets: 8 },
  { name: '30d', window: '30d', buckets: 10 },
]

/**
 * Default budgets per class and window (weighted records), applied to the windows that exist.
 * ip/net/device are shared identities (NAT, carrier, a popular browser build): large budgets,
 * and their volume alone stays under `mask` (volumeCap 35 < 40). account/session are one
 * person: a heavy shopper reads 60 item pages of 20 comment authors in an hour at peak (1,200
 * records, half the hourly budget: observe at most). key is a partner: B4 looks up to 2,000
 * customers (phone, weight 3) a day, ~250 an hour at peak.
 */
const DEFAULT_BUDGETS: Record<PrincipalKind, Record<string, number>> = {
  ip: { '1h': 1500, '24h': 6000, '30d': 60000 },
  net: { '1h': 6000, '24h': 30000, '30d': 300000 },
  account: { '1h': 2500, '24h': 10000, '30d': 60000 },
  key: { '1h': 1500, '24h': 9000, '30d': 120000 },
  device: { '1h': 6000, '24h': 30000, '30d': 300000 },
  session: { '1h': 2500, '24h': 10000, '30d': 60000 },
}

/** Weight of a record by the heaviest field class it carries in the clear. */
const FIELD_WEIGHTS: Record<FieldClass, number> = {
  id: 1,
  phone: 3,
  name: 1,
  email: 2,
  'national-id': 5,
  address: 2,
  city: 0.25,
  comment: 0.25,
  other: 0.25,
}

const budgetsSchema = z.record(
  z.string(),
  z.number({ error: 'expected a positive number of weighted records' }).positive(),
)

const signalWeightsSchema = z.partialRecord(z.enum(SIGNAL_NAMES), z.number().min(0).max(10))

/**
 * One principal class: its budgets per window (weighted records), the most points volume alone
 * may add (so that a shared identity is never blocked for being busy), and per-signal
 * multipliers.
 */
const classSchema = (defaults: {
  volumeCap: number
  signalWeights?: Record<string, number>
  privateBudget?: number
  maxAction?: (typeof ACTIONABLE)[number]
}) =>
  z
    .strictObject({
      // Filled in by the policy-level transform: default budgets apply to the windows that exist.
      budgets: budgetsSchema.optional(),
      volumeCap: points.default(defaults.volumeCap),
      /** The strongest action a decision on this class may take, escalation included. */
      maxAction: z.enum(ACTIONABLE).default(defaults.maxAction ?? 'block'),
      signalWeights: signalWeightsSchema.default(defaults.signalWeights ?? {}),
      /**
       * Distinct records with private contact data (phone, email, address, national ID) allowed
       * in the private-records window; absent: not judged by that signal.
       */
      privateBudget:
        defaults.privateBudget === undefined
          ? z.number().positive().optional()
          : z.number().positive().default(defaults.privateBudget),
    })
    .prefault({})

// Identities many people share (NAT addresses, subnets, common browser fingerprints): volume
// alone never goes past `mask`, and round-the-clock activity is normal for them (hundreds of
// people behind one address are awake at every hour between them), so it does not count.
const SHARED_WEIGHTS = { 'round-the-clock': 0, periodicity: 0.5 }
// One person: someone working through a task (orders, then an item, then a profile) keeps a
// fairly even pace too (the lab's buyers: gap variation ~0.45 over 40 gaps), so periodicity
// alone stays at observe for people; a partner key is where it speaks loudly.
const PERSON_WEIGHTS = { periodicity: 0.5 }
// A partner key is a program by contract: its headers say so (no anomaly), but a person at a
// service desk works in bursts and rests; a key that keeps a machine rhythm is a crawler
// (the Taobao insider). Full periodicity throttles on its own.
// A person's contact lookups a day: a buyer contacts a few sellers and commenters (B3: at most
// ~10 a visit); 60 in 24h puts even a very busy buyer at observe, and a reader of every
// commenter's phone (A4) at mask within ~50.
const PERSON_PRIVATE_BUDGET = 60
// Looking customers up by ID is the partner API's purpose, and a partner's customers can fill a
// dense ID range (revisiting regulars packs IDs into few blocks): enumeration stays a hint for
// a key (volume and rhythm decide).
const KEY_WEIGHTS = { periodicity: 2, enumeration: 0.25, 'header-anomalies': 0, 'no-context': 0 }

const cidr = z.string().refine((s) => parseCidr(s) !== undefined, {
  error: "expected an IP address or CIDR block like '10.0.0.0/8' or '2001:db8::/32'",
})

const principalRef = z.string().regex(new RegExp(`^(${PRINCIPAL_KINDS.join('|')}):.+$`), {
  error: `expected a principal kind:value with kind one of ${PRINCIPAL_KINDS.join(', ')}`,
})

const thresholdSchema = z
  .strictObject({
    observe: points.default(20),
    mask: points.default(40),
    throttle: points.default(60),
    challenge: points.default(80),
    block: points.default(100),
  })
  .prefault({})
  .refine(
    (t) =>
      t.observe <= t.mask &&
      t.mask <= t.throttle &&
      t.throttle <= t.challenge &&
      t.challenge <= t.block,
    { error: 'thresholds must not decrease from observe to block' },
  )

const ttlSchema = z
  .strictObject({
    observe: durationSchema({ minMs: 1_000 }).prefault('15m'),
    mask: durationSchema({ minMs: 1_000 }).prefault('1h'),
    throttle: durationSchema({ minMs: 1_000 }).prefault('1h'),
    challenge: durationSchema({ minMs: 1_000 }).prefault('6h'),
    block: durationSchema({ minMs: 1_000 }).prefault('24h'),
  })
  .prefault({})

const ACTIONABLE = ACTIONS.filter((a) => a !== 'allow')

/** zod schema of the `policy:` section, with every default. */
export const policySchema = z
  .strictObject({
    /** Decide and journal, never enforce. */
    shadow: z.boolean().default(false),
    windows: z
      .array(windowSchema)
      .min(1)
      .max(4)
      .prefault(DEFAULT_WINDOWS)
      .refine((ws) => new Set(ws.map((w) => w.name)).size === ws.length, {
        error: 'window names must be unique',
      })
      .refine((ws) => ws.every((w, i) => i === 0 || w.window > ws[i - 1]!.window), {
        error: 'windows must be listed shortest first',
      }),
    /**
     * HyperLogLog precision of busy ledgers' bucket sketches: 11 gives 2.3% standard error at
     * 2 KiB a bucket (budgets need no better); idle ledgers count exactly whatever it is.
     */
    precision: count(4).max(16).default(11),
    /** Distinct records a ledger counts exactly before switching to sketches. */
    exactLimit: count(1).max(4096).default(64),
    classes: z
      .strictObject({
        ip: classSchema({
          volumeCap: 35,
          signalWeights: SHARED_WEIGHTS,
        }),
        // A /24 holds neighbours who did nothing: its decisions mask (a harvester's own
        // addresses are decided and walked to block one by one), never refuse a neighbour.
        net: classSchema({
          volumeCap: 35,
          signalWeights: SHARED_WEIGHTS,
          maxAction: 'mask',
        }),
        account: classSchema({
          volumeCap: 150,
          signalWeights: PERSON_WEIGHTS,
          privateBudget: PERSON_PRIVATE_BUDGET,
        }),
        key: classSchema({
          volumeCap: 150,
          signalWeights: KEY_WEIGHTS,
        }),
        device: classSchema({
          volumeCap: 35,
          signalWeights: SHARED_WEIGHTS,
        }),
        session: classSchema({
          volumeCap: 150,
          signalWeights: PERSON_WEIGHTS,
          privateBudget: PERSON_PRIVATE_BUDGET,
        }),
      })
      .prefault({}),
    /** Weight of a record by the heaviest field class it carried in the clear. */
    fieldWeights: z
      .strictObject(
        Object.fromEntries(
          FIELD_CLASSES.map((c) => [c, z.number().min(0).max(100).default(FIELD_WEIGHTS[c])]),
        ) as Record<FieldClass, z.ZodDefault<z.ZodNumber>>,
      )
      .prefault({}),
    /** Masked by `mask`; counted as leakage when served in the clear. */
    protectedFields: z
      .array(z.enum(FIELD_CLASSES))
      .default(['id', 'phone', 'name', 'email', 'national-id', 'address']),
    allowlist: z
      .strictObject({
        /** Networks whose ip:/net: principals are never judged (verified crawlers, internal). */
        networks: z.array(cidr).default([]),
        /** Principals never judged, e.g. `key:<digest>` of an internal service. */
        principals: z.array(principalRef).default([]),
      })
      .prefault({}),
    thresholds: thresholdSchema,
    ttl: ttlSchema,
    escalation: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** A re-flag at least this long after the live decision escalates one step. */
        after: durationSchema({ minMs: 1_000 }).prefault('10m'),
        /** Flags weaker than this never escalate (a busy NAT under observation stays there). */
        from: z.enum(ACTIONABLE).default('mask'),
      })
      .prefault({}),
    evaluation: z
      .strictObject({
        /** Re-score a principal every this many requests… */
        everyRequests: count(1).max(1_000_000).default(32),
        /** …or every this many records served, whichever comes first. */
        everyRecords: count(1).max(1_000_000).default(16),
      })
      .prefault({}),
    signals: z
      .strictObject({
        'distinct-records': z.strictObject({ pointsAtBudget: points.default(50) }).prefault({}),
        enumeration: z
          .strictObject({
            /** Consecutive requests each naming the previous ID +-1..step. */
            minRun: count(2).default(12),
            step: count(1).max(64).default(3),
            /** Different IDs per visited 256-wide block, to call it dense coverage. */
            minDensity: count(2).max(256).default(16),
            points: points.default(45),
          })
          .prefault({}),
        periodicity: z
          .strictObject({
            minGaps: count(5).default(40),
            /** Coefficient of variation of inter-arrival gaps under which traffic is machine-like. */
            maxCv: z.number().positive().max(10).default(0.6),
            /** Gaps longer than this are breaks between sessions, not part of the rhythm. */
            maxGap: durationSchema({ minMs: 1_000 }).prefault('5m'),
            points: points.default(30),
          })
          .prefault({}),
        'round-the-clock': z
          .strictObject({
            /** Days observed before the signal speaks. */
            minDays: count(1).max(14).default(2),
            /** Hours per day with activity at which there is no diurnal rest. */
            minActiveHours: count(1).max(24).default(20),
            points: points.default(40),
          })
          .prefault({}),
        'no-assets': z
          .strictObject({
            minPages: count(1).default(12),
            minShare: ratio.default(0.9),
            points: points.default(25),
          })
          .prefault({}),
        'no-referer': z
          .strictObject({
            minPages: count(1).default(12),
            minShare: ratio.default(0.9),
            points: points.default(15),
          })
          .prefault({}),
        'header-anomalies': z
          .strictObject({
            minRequests: count(1).default(3),
            /** Points for an automation user agent on most requests. */
            automationPoints: points.default(40),
            /** Points per other anomaly kind present on most requests. */
            otherPoints: points.default(10),
            minShare: ratio.default(0.5),
          })
          .prefault({}),
        'error-ratio': z
          .strictObject({
            minRequests: count(1).default(20),
            minShare: ratio.default(0.3),
            points: points.default(25),
          })
          .prefault({}),
        'private-records': z
          .strictObject({
            /** Window of the classes' privateBudget (absent: 24h if it exists, else the longest). */
            window: z.string().optional(),
            pointsAtBudget: points.default(50),
            /**
             * Budget over the longest window (30d), in multiples of the class's privateBudget; 0
             * turns it off. A person's contacts do not add up day after day: a buyer reads a
             * few profiles a visit, ~40 a month (B3), while one account reading its full daily
             * budget every day (the mimic's) reaches 5 days' worth within a week.
             */
            longestWindowMultiple: z.number().min(0).max(1000).default(5),
          })
          .prefault({}),
        'no-context': z
          .strictObject({
            /** Records taken from the API with no page, asset or Referer before it speaks. */
            minRecords: count(1).default(1),
            points: points.default(45),
          })
          .prefault({}),
      })
      .prefault({}),
    actors: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** Identities tracked for linking; least recently linked are forgotten first. */
        maxNodes: count(16).max(50_000_000).default(200_000),
        /** Partners remembered per identity. */
        maxLinks: count(1).max(64).default(8),
        /** An identity seen with more partners of one kind than this is shared (a NAT). */
        sharedAfter: count(1).max(64).default(4),
        /** A device fingerprint seen with more owners than this is shared (a popular browser build). */
        deviceSharedAfter: count(1).max(100_000).default(64),
      })
      .prefault({}),
  })
  .superRefine((p, ctx) => {
    const names = new Set(p.windows.map((w) => w.name))
    const privateWindow = p.signals['private-records'].window
    if (privateWindow !== undefined && !names.has(privateWindow)) {
      ctx.addIssue({
        code: 'custom',
        path: ['signals', 'private-records', 'window'],
        message: `no window named '${privateWindow}' (windows: ${[...names].join(', ')})`,
      })
    }
    for (const [kind, cls] of Object.entries(p.classes)) {
      for (const name of Object.keys(cls.budgets ?? {})) {
        if (!names.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['classes', kind, 'budgets', name],
            message: `no window named '${name}' (windows: ${[...names].join(', ')})`,
          })
        }
      }
    }
  })

  .transform((p) => {
    const names = new Set(p.windows.map((w) => w.name))
    const classes = Object.fromEntries(
      PRINCIPAL_KINDS.map((kind) => {
        const cls = p.classes[kind]
        const budgets =
          cls.budgets ??
          Object.fromEntries(Object.entries(DEFAULT_BUDGETS[kind]).filter(([n]) => names.has(n)))
        return [kind, { ...cls, budgets }]
      }),
    ) as Record<PrincipalKind, ClassSettings>
    return { ...p, classes }
  })

/** The parsed `policy:` section with every default applied. */
export type PolicyConfig = z.output<typeof policySchema>
/** The `policy:` section as written in a file. */
export type PolicyInput = z.input<typeof policySchema>

// Compile-time check that the schema's output is what core's compilePolicy expects.
export const policySettingsCheck = (config: PolicyConfig): PolicySettings => config
