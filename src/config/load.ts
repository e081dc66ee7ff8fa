/**
 * Loading a configuration: YAML text -> document AST (positions) -> zod validation reporting
 * EVERY issue at once in compiler style -> secret resolution -> deep-freeze. Nothing here opens
 * a connection: stores and journals are opened by the caller after validation succeeded, so a
 * typo never costs a half-started guard.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { LineCounter, parseDocument, type Document } from 'yaml'
import type { z } from 'zod'
import { ConfigError, HarvestGuardError, formatIssuePath, type ConfigIssue } from '../core/index.ts'
import { positionOf } from './positions.ts'
import { configSchema, type ConfigData } from './schema.ts'
import { closestKey, keysAt } from './suggest.ts'
import { MIN_SECRET_LENGTH, Secret, type SecretRef } from './secret.ts'

/** Issue codes (see docs/errors.md). */
export const CONFIG_YAML = 'HG_CONFIG_YAML'
export const CONFIG_TYPE = 'HG_CONFIG_TYPE'
export const CONFIG_MISSING = 'HG_CONFIG_MISSING'
export const CONFIG_VALUE = 'HG_CONFIG_VALUE'
export const CONFIG_UNKNOWN_KEY = 'HG_CONFIG_UNKNOWN_KEY'
export const CONFIG_SECRET = 'HG_CONFIG_SECRET'
/** Code of the error thrown when the config file itself cannot be read. */
export const CONFIG_UNREADABLE = 'HG_CONFIG_UNREADABLE'

/** Environment variable read for the secret when the file names none. */
export const SECRET_ENV = 'HARVESTGUARD_SECRET'

/** YAML syntax errors reported at most. */
const MAX_YAML_ERRORS = 20

/** Aliases expanded per document: enough for anchors and merges, too few for a billion laughs. */
const MAX_ALIAS_COUNT = 100

type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T

/** The validated, resolved, frozen configuration. */
export type Config = DeepReadonly<Omit<ConfigData, 'secret' | 'server' | 'alerts'>> & {
  /** The file it came from; '' for {@link defaultConfig}. */
  readonly file: string
  /** Key of every digest (the Keyer's PRF key). */
  readonly secret: Secret
  readonly server: DeepReadonly<Omit<ConfigData['server'], 'adminToken'>> & {
    /** Bearer token for the admin API; undefined: admin endpoints only on loopback. */
    readonly adminToken: Secret | undefined
  }
  readonly alerts: DeepReadonly<Omit<ConfigData['alerts'], 'webhooks'>> & {
    readonly webhooks: readonly (DeepReadonly<
      Omit<ConfigData['alerts']['webhooks'][number], 'secret'>
    > & {
      /** HMAC key of the signature header; undefined: unsigned. */
      readonly secret: Secret | undefined
    })[]
  }
  /** Things that work but deserve the operator's attention, in compiler style. */
  readonly warnings: readonly string[]
}

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /** Environment for `{env: NAME}` secrets and HARVESTGUARD_SECRET. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>
}

// ---------------------------------------------------------------------------------------------
// Messages

function typeName(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a mapping'
    case 'array':
      return 'a list'
    case 'boolean':
      return 'true or false'
    case 'number':
    case 'int':
      return 'a number'
    case 'string':
      return 'a string'
    default:
      return expected
  }
}

/** Wording of zod's built-in issues; messages given in the schema take precedence. */
const errorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${typeName(issue.expected)}`
    case 'too_small':
      if (issue.origin === 'string') return `expected at least ${issue.minimum} characters`
      if (issue.origin === 'array') return `expected at least ${issue.minimum} items`
      return `expected a number ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`
    case 'too_big':
      if (issue.origin === 'string') return `expected at most ${issue.maximum} characters`
      if (issue.origin === 'array') return `expected at most ${issue.maximum} items`
      return `expected a number ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}`
        : `expected one of ${issue.values.map((v) => String(v)).join(', ')}`
    case 'invalid_format':
      return `expected ${issue.format}`
    case 'invalid_union':
      return 'matches none of the accepted forms'
    default:
      return undefined
  }
}

/** A short, safe rendering of the offending value (secrets never reach here: see below). */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data
  for (const step of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<PropertyKey, unknown>)[step]
  }
  return v
}

interface RawIssue {
  readonly code: string
  readonly path: readonly PropertyKey[]
  readonly message: string
  readonly key?: boolean
}

/** zod issues -> raw issues: one per unknown key, unions narrowed to the closest branch. */
function flatten(
  issues: readonly z.core.$ZodIssue[],
  data: unknown,
  prefix: PropertyKey[] = [],
): RawIssue[] {
  const out: RawIssue[] = []
  for (const issue of issues) {
    const path = [...prefix, ...issue.path]
    if (issue.code === 'unrecognized_keys') {
      const known = keysAt(configSchema, path)
      for (const k of issue.keys) {
        const near = closestKey(k, known)
        out.push({
          code: CONFIG_UNKNOWN_KEY,
          path: [...path, k],
          message: near === undefined ? 'unknown key' : `unknown key (did you mean ${near}?)`,
          key: true,
        })
      }
      continue
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // A branch whose top-level type matched is what the operator meant; report its issues.
      const close = issue.errors
        .filter((branch) => !branch.some((i) => i.path.length === 0 && i.code === 'invalid_type'))
        .toSorted((a, b) => a.length - b.length)
      if (close.length > 0 && (close.length === 1 || close[0]!.length < close[1]!.length)) {
        out.push(...flatten(close[0]!, data, path))
        continue
      }
    }
    const value = valueAt(data, path)
    const code =
      issue.code === 'invalid_type' || issue.code === 'invalid_union'
        ? value === undefined
          ? CONFIG_MISSING
          : CONFIG_TYPE
        : CONFIG_VALUE
    let message = issue.message
    if (code === CONFIG_MISSING) message = `required key is missing (${message})`
    else if (!message.includes(', got ') && !isSecretPath(path) && !isStructured(value))
      message += `, got ${describe(value)}`
    out.push({ code, path, message })
  }
  return out
}

/** "got a mapping" says nothing the message does not; only scalars are worth echoing. */
function isStructured(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Never echo a (possibly real) secret into an error message. */
function isSecretPath(path: readonly PropertyKey[]): boolean {
  return path[0] === 'secret' || path.includes('adminToken') || path.includes('secret')
}

// ---------------------------------------------------------------------------------------------
// Parsing

function toIssue(
  file: string,
  doc: Document | undefined,
  counter: LineCounter,
  raw: RawIssue,
): ConfigIssue {
  const pos =
    doc === undefined ? { line: 0, column: 0 } : positionOf(doc, counter, raw.path, raw.key)
  return {
    code: raw.code,
    file,
    line: pos.line,
    column: pos.column,
    path: formatIssuePath(raw.path),
    message: raw.message,
  }
}

function byPosition(a: ConfigIssue, b: ConfigIssue): number {
  return a.line - b.line || a.column - b.column || a.path.localeCompare(b.path)
}

/**
 * Parses and validates configuration text. Throws a {@link ConfigError} listing every issue
 * (YAML syntax, types, values, unknown keys, unresolvable secrets) with file:line:column.
 * Reads a secret `{file: PATH}` (relative to the working directory) after validation passed.
 * @example
 * const config = parseConfig(readFileSync('harvestguard.yaml', 'utf8'), 'harvestguard.yaml')
 */
export function parseConfig(
  text: string,
  fileName: string,
  options: ParseConfigOptions = {},
): Config {
  const counter = new LineCounter()
  const doc = parseDocument(text, {
    lineCounter: counter,
    prettyErrors: false,
    uniqueKeys: true,
    // Plain YAML 1.2 data only: `!!binary` or `!!set` would turn into Buffers and Sets that no
    // key of the schema takes; unresolved, they stay strings and get a clear type error.
    resolveKnownTags: false,
    // Oddities (a list used as a key) become issues, not process warnings on stderr.
    logLevel: 'error',
  })
  const warnings: string[] = []
  if (doc.errors.length > 0) {
    throw new ConfigError(
      // A pathological file (20,000 nested brackets) yields one error per level: the first
      // few say everything.
      doc.errors
        .slice(0, MAX_YAML_ERRORS)
        .map((e) => {
          const pos = counter.linePos(e.pos[0])
          const message = e.message.split('\n')[0] ?? e.message
          return {
            code: CONFIG_YAML,
            file: fileName,
            line: pos.line,
            column: pos.col,
            path: '',
            message,
          }
        })
        .toSorted(byPosition),
    )
  }
  for (const w of doc.warnings) {
    const pos = counter.linePos(w.pos[0])
    warnings.push(`${fileName}:${pos.line}:${pos.col} warning: ${w.message.split('\n')[0]}`)
  }
  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT })
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause)
    throw new ConfigError(
      [{ code: CONFIG_YAML, file: fileName, line: 0, column: 0, path: '', message }],
      { cause },
    )
  }
  // An empty file (or one holding only comments) is the zero configuration.
  if (data === null || data === undefined) data = {}
  const result = configSchema.safeParse(data, { error: errorMap, reportInput: false })
  if (!result.success) {
    const issues = flatten(result.error.issues, data).map((r) => toIssue(fileName, doc, counter, r))
    throw new ConfigError(issues.toSorted(byPosition))
  }
  const env = options.env ?? process.env
  const secretIssues: RawIssue[] = []
  const resolve = (ref: SecretRef, path: PropertyKey[]): Secret | undefined => {
    if (typeof ref === 'string') {
      warnings.push(
        `${fileName} warning: ${formatIssuePath(path)} is written in the file; prefer {env: NAME} or {file: PATH}`,
      )
      return new Secret(ref, 'inline')
    }
    let value: string | undefined
    let source: string
    if ('env' in ref) {
      source = `env:${ref.env}`
      value = env[ref.env]
      if (value === undefined || value === '') {
        secretIssues.push({
          code: CONFIG_SECRET,
          path: [...path, 'env'],
          message: `environment variable ${ref.env} is not set`,
        })
        return undefined
      }
    } else {
      source = `file:${ref.file}`
      try {
        value = readFileSync(ref.file, 'utf8').trim()
      } catch (cause) {
        const why = (cause as NodeJS.ErrnoException).code ?? String(cause)
        secretIssues.push({
          code: CONFIG_SECRET,
          path: [...path, 'file'],
          message: `cannot read ${ref.file} (${why})`,
        })
        return undefined
      }
    }
    if (value.length < MIN_SECRET_LENGTH) {
      secretIssues.push({
        code: CONFIG_SECRET,
        path: [...path, 'env' in ref ? 'env' : 'file'],
        message: `secret from ${source} is shorter than ${MIN_SECRET_LENGTH} characters`,
      })
      return undefined
    }
    return new Secret(value, source)
  }
  const parsed = result.data
  let secret: Secret | undefined
  if (parsed.secret !== undefined) secret = resolve(parsed.secret, ['secret'])
  else secret = defaultSecret(env, fileName, warnings)
  const adminToken =
    parsed.server.adminToken === undefined
      ? undefined
      : resolve(parsed.server.adminToken, ['server', 'adminToken'])
  const webhooks = parsed.alerts.webhooks.map((w, i) => ({
    ...w,
    secret:
      w.secret === undefined ? undefined : resolve(w.secret, ['alerts', 'webhooks', i, 'secret']),
  }))
  if (secretIssues.length > 0) {
    throw new ConfigError(
      secretIssues.map((r) => toIssue(fileName, doc, counter, r)).toSorted(byPosition),
    )
  }
  const config = {
    file: fileName,
    ...parsed,
    secret: secret as Secret,
    server: { ...parsed.server, adminToken },
    alerts: { ...parsed.alerts, webhooks },
    warnings,
  }
  return deepFreeze(config) as Config
}

function defaultSecret(
  env: Readonly<Record<string, string | undefined>>,
  fileName: string,
  warnings: string[],
): Secret | undefined {
  const fromEnv = env[SECRET_ENV]
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < MIN_SECRET_LENGTH) {
      throw new ConfigError([
        {
          code: CONFIG_SECRET,
          file: fileName,
          line: 0,
          column: 0,
          path: 'secret',
          message: `${SECRET_ENV} is shorter than ${MIN_SECRET_LENGTH} characters`,
        },
      ])
    }
    return new Secret(fromEnv, `env:${SECRET_ENV}`)
  }
  warnings.push(
    `${fileName === '' ? 'defaults' : fileName} warning: no secret configured (set secret: or ${SECRET_ENV}); ` +
      'using a random per-process secret: digests, snapshots and journals will not match after a restart or across guards',
  )
  return new Secret(randomBytes(32).toString('base64url'), 'generated')
}

/** Freezes plain objects and arrays recursively (class instances such as Secret are frozen too). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

/**
 * Reads and parses a configuration file. Throws HarvestGuardError `HG_CONFIG_UNREADABLE` when
 * the file cannot be read, {@link ConfigError} when its content is invalid.
 */
export function loadConfigFile(path: string, options: ParseConfigOptions = {}): Config {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code ?? String(cause)
    throw new HarvestGuardError(CONFIG_UNREADABLE, `cannot read config file ${path} (${why})`, {
      cause,
    })
  }
  return parseConfig(text, path, options)
}

/** The zero configuration: every default, secret from HARVESTGUARD_SECRET or generated. */
export function defaultConfig(options: ParseConfigOptions = {}): Config {
  return parseConfig('', '', options)
}
