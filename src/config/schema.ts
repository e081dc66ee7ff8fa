/**
 * The configuration schema: every key, its type and its default, written once here (and listed
 * in docs/configuration.md). Objects are strict so that a misspelt key is an error, not a
 * silently ignored setting. Types are derived from the schema.
 */
import { isIP } from 'node:net'
import { z } from 'zod'
import {
  ACTIONS,
  EXPOSURE_CONDITIONS,
  MAX_RECORDS_PER_RESPONSE,
  validateRouteSpec,
  RESOURCE_KINDS,
  FIELD_CLASSES,
} from '../core/index.ts'
import { durationSchema } from './duration.ts'
import { policySchema } from './policy-schema.ts'
import { secretRefSchema } from './secret.ts'

/** What the guard does when its ledger store fails: let requests through, or refuse them. */
export const STORE_ERROR_MODES = ['allow', 'block'] as const
/** Ledger store backends. */
export const STORE_KINDS = ['memory', 'redis'] as const
/** Journal backends. */
export const JOURNAL_KINDS = ['sqlite', 'postgres'] as const
/** Forwarding headers a trusted front proxy may write. */
export const FORWARDED_HEADER_NAMES = ['x-forwarded-for', 'forwarded', 'x-real-ip'] as const

const positiveInt = (what = 'a positive integer') =>
  z
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .positive({ error: `expected ${what}` })

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'expected an HTTP header name' })
  .transform((s) => s.toLowerCase())

/** `203.0.113.0/24`, `2001:db8::/32` or a single address. */
export function isCidr(text: string): boolean {
  const slash = text.indexOf('/')
  const addr = slash < 0 ? text : text.slice(0, slash)
  const family = isIP(addr)
  if (family === 0) return false
  if (slash < 0) return true
  const bits = text.slice(slash + 1)
  if (!/^\d{1,3}$/.test(bits)) return false
  return Number(bits) <= (family === 4 ? 32 : 128)
}

const cidr = z.string().refine(isCidr, {
  error: "expected an IP address or CIDR block like '10.0.0.0/8' or '2001:db8::/32'",
})

/** One `exposes:` entry; cross-field rules live in validateRouteSpec (core). */
const exposureSchema = z
  .object({
    subject: z.string(),
    fields: z.union(
      [z.array(z.enum(FIELD_CLASSES)), z.partialRecord(z.enum(FIELD_CLASSES), z.string())],
      {
        error: `expected a list of field classes (${FIELD_CLASSES.join(', ')}) or a map class -> element path`,
      },
    ),
    when: z.enum(EXPOSURE_CONDITIONS).default('always'),
    each: z.string().optional(),
    count: positiveInt(`an integer from 1 to ${MAX_RECORDS_PER_RESPONSE}`)
      .max(MAX_RECORDS_PER_RESPONSE, {
        error: `expected an integer from 1 to ${MAX_RECORDS_PER_RESPONSE}`,
      })
      .optional(),
    key: z.string().optional(),
  })
  .strict()

/** One route of the catalogue (see TEAM.md / docs/configuration.md). */
export const routeSchema = z
  .object({
    route: z.string(),
    resource: z.enum(RESOURCE_KINDS).default('api'),
    ordinal: z.string().optional(),
    exposes: z.array(exposureSchema).default([]),
  })
  .strict()
  .superRefine((spec, ctx) => {
    for (const issue of validateRouteSpec(spec)) {
      ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message })
    }
  })

const routesSchema = z
  .array(routeSchema)
  .default([])
  .superRefine((routes, ctx) => {
    // Two lines for one route would make the second unreachable: refuse rather than guess.
    const seen = new Map<string, number>()
    for (const [i, r] of routes.entries()) {
      const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(r.route)
      if (m === null) continue
      const id = `${(m[1] as string).toUpperCase()} ${(m[2] as string)
        .split('/')
        .filter((s) => s !== '')
        .map((s) => (s.startsWith(':') ? ':' : s.toLowerCase()))
        .join('/')}`
      const prior = seen.get(id)
      if (prior !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'route'],
          message: `same route as routes[${prior}]: the second would never match`,
        })
      } else seen.set(id, i)
    }
  })

/** How the account behind a request is read (`http.account`). */
export type AccountSettings =
  | { readonly kind: 'header'; readonly header: string }
  | {
      readonly kind: 'jwt'
      readonly claim: string
      readonly header?: string
      readonly cookie?: string
    }

const accountSchema = z
  .discriminatedUnion(
    'kind',
    [
      z.object({ kind: z.literal('header'), header: headerName }).strict(),
      z
        .object({
          kind: z.literal('jwt'),
          header: headerName.optional(),
          cookie: z.string().min(1).optional(),
          claim: z.string().min(1).default('sub'),
        })
        .strict(),
    ],
    { error: 'expected {kind: header, header: NAME} or {kind: jwt, header?, cookie?, claim?}' },
  )
  .transform((a): AccountSettings => {
    if (a.kind === 'header') return a
    // Absent keys stay absent (not `undefined`): the HTTP part's options are exact-optional.
    return {
      kind: 'jwt',
      claim: a.claim,
      ...(a.header === undefined ? {} : { header: a.header }),
      ...(a.cookie === undefined ? {} : { cookie: a.cookie }),
    }
  })

/** `http:`: how HTTP feeders learn a request's identities. */
export const httpSchema = z
  .object({
    trustedProxies: z.array(cidr).default([]),
    forwardedHeader: z.enum(FORWARDED_HEADER_NAMES).default('x-forwarded-for'),
    account: accountSchema.optional(),
    apiKey: z
      .object({
        bearer: z.boolean().default(true),
        headers: z.array(headerName).default(['x-api-key']),
      })
      .strict()
      .prefault({}),
    sessionCookies: z.array(z.string().min(1)).default(['sid', 'session', 'connect.sid']),
    tlsFingerprintHeader: headerName.optional(),
    userAgentCacheSize: positiveInt().default(4096),
  })
  .strict()

/** `store:`: where ledgers and live decisions live. */
export const storeSchema = z
  .object({
    kind: z.enum(STORE_KINDS).default('memory'),
    snapshotPath: z.string().min(1).nullable().default('./harvestguard.snapshot'),
    snapshotInterval: durationSchema({ minMs: 1000 }).prefault('1m'),
    maxPrincipals: positiveInt().default(1_000_000),
    redis: z
      .object({
        url: z
          .string()
          .regex(/^rediss?:\/\//, { error: 'expected a redis:// or rediss:// URL' })
          .default('redis://127.0.0.1:6379'),
        keyPrefix: z.string().default('harvestguard:'),
        syncInterval: durationSchema({ minMs: 50, maxMs: 60_000 }).prefault('1s'),
      })
      .strict()
      .transform(({ syncInterval, ...rest }) => ({ ...rest, syncIntervalMs: syncInterval }))
      .prefault({}),
  })
  .strict()
  .transform(({ snapshotInterval, ...rest }) => ({ ...rest, snapshotIntervalMs: snapshotInterval }))

/** `journal:`: where decisions and alerts are recorded. */
export const journalSchema = z
  .object({
    kind: z.enum(JOURNAL_KINDS).default('sqlite'),
    path: z.string().min(1).default('./harvestguard.db'),
    flushInterval: durationSchema({ minMs: 10, maxMs: 60_000 }).prefault('1s'),
    postgres: z
      .object({
        url: z.string().regex(/^postgres(ql)?:\/\//, { error: 'expected a postgres:// URL' }),
        schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: 'expected a lowercase SQL identifier' })
          .default('harvestguard'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((j, ctx) => {
    if (j.kind === 'postgres' && j.postgres === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['kind'],
        message: 'kind postgres needs postgres: {url: postgres://…}',
      })
    }
  })
  .transform(({ flushInterval, ...rest }) => ({ ...rest, flushIntervalMs: flushInterval }))

/** `host:port`, `[v6]:port`; port 0 picks a free one. */
export function parseListen(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text)
  if (m === null) return undefined
  const port = Number(m[3])
  if (port > 65535) return undefined
  return { host: (m[1] ?? m[2]) as string, port }
}

/** `server:`: the admin/decision HTTP server. */
export const serverSchema = z
  .object({
    listen: z
      .string()
      .refine((s) => parseListen(s) !== undefined, {
        error: "expected host:port like '127.0.0.1:8787' or '[::1]:8787'",
      })
      .default('127.0.0.1:8787'),
    adminToken: secretRefSchema.optional(),
  })
  .strict()

/** Actions an alert may start from (`allow` is never an escalation). */
export const ALERT_ACTIONS = [
  'observe',
  'mask',
  'throttle',
  'challenge',
  'block',
] as const satisfies readonly (typeof ACTIONS)[number][]

/** Webhook body formats (as the WebhookAlertSink has them: src/alerts). */
export const WEBHOOK_FORMATS = ['json', 'slack'] as const

/** An absolute http:// or https:// URL. */
function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text)
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== ''
  } catch {
    return false
  }
}

/** One `alerts.webhooks[]` entry: the options of a WebhookAlertSink. */
const webhookSchema = z
  .object({
    url: z.string().refine(isHttpUrl, { error: 'expected an http:// or https:// URL' }),
    secret: secretRefSchema.optional(),
    format: z.enum(WEBHOOK_FORMATS).default('json'),
    timeout: durationSchema({ minMs: 100, maxMs: 300_000 }).prefault('5s'),
    retries: z
      .number({ error: 'expected an integer from 0 to 20' })
      .int({ error: 'expected an integer from 0 to 20' })
      .min(0, { error: 'expected an integer from 0 to 20' })
      .max(20, { error: 'expected an integer from 0 to 20' })
      .default(4),
    backoff: durationSchema({ minMs: 10, maxMs: 600_000 }).prefault('500ms'),
    maxBackoff: durationSchema({ minMs: 10, maxMs: 3_600_000 }).prefault('30s'),
    maxQueue: positiveInt().default(1000),
  })
  .strict()
  .transform(({ timeout, backoff, maxBackoff, ...rest }) => ({
    ...rest,
    timeoutMs: timeout,
    backoffMs: backoff,
    maxBackoffMs: maxBackoff,
  }))

/** `alerts:`: where alerts go (none by default). */
export const alertsSchema = z
  .object({
    minAction: z.enum(ALERT_ACTIONS).default('throttle'),
    maxActors: positiveInt().default(100_000),
    webhooks: z.array(webhookSchema).default([]),
    jsonl: z
      .object({ path: z.string().min(1, { error: 'expected a file path' }) })
      .strict()
      .optional(),
    fleetDedupe: z.boolean().default(true),
    drainTimeout: durationSchema({ minMs: 0, maxMs: 600_000 }).prefault('10s'),
  })
  .strict()
  .transform(({ drainTimeout, ...rest }) => ({ ...rest, drainTimeoutMs: drainTimeout }))

/**
 * A section that may be absent, or present but empty (`store:` with every line commented out
 * parses as null): both mean "all defaults".
 */
function section<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => v ?? {}, schema)
}

/** The whole file. Every section is optional: an empty file is a working configuration. */
export const configSchema = z
  .object({
    secret: secretRefSchema.optional(),
    routes: z.preprocess((v) => v ?? [], routesSchema),
    policy: section(policySchema),
    http: section(httpSchema),
    store: section(storeSchema),
    journal: section(journalSchema),
    server: section(serverSchema),
    alerts: section(alertsSchema),
    onStoreError: z.enum(STORE_ERROR_MODES).default('allow'),
  })
  .strict()

/** The validated file before secrets are resolved. */
export type ConfigData = z.output<typeof configSchema>
