/**
 * The route catalogue: what each route of the protected application discloses. Operators declare
 * routes in config (`routes:`); {@link compileCatalogue} turns them once into a matcher so that
 * per-request work is a trie walk and a few template renders. Shared by every feeder: HTTP
 * feeders see bodies and use the JSON-path rules, log feeders see no body and use `count`/`key`.
 */
import { HarvestGuardError } from './errors.ts'
import { RESOURCE_KINDS, type ResourceKind } from './event.ts'
import {
  FIELD_BIT,
  FIELD_CLASSES,
  fieldMask,
  type Digest,
  type Exposure,
  type FieldClass,
  type FieldMask,
} from './exposure.ts'
import type { Keyer } from './ports.ts'

/** When an exposure rule applies: always, or only when the request carries an account. */
export const EXPOSURE_CONDITIONS = ['always', 'account'] as const
/** One of {@link EXPOSURE_CONDITIONS}. */
export type ExposureCondition = (typeof EXPOSURE_CONDITIONS)[number]

/** Largest `count` a body-less rule may declare (records per response). */
export const MAX_RECORDS_PER_RESPONSE = 10_000

/**
 * One `exposes:` entry of a route as written in config. Either a path rule (subject from path
 * and query parameters) or, with `each`, a body rule (one record per selected JSON element).
 */
export interface ExposureSpec {
  /** Subject template, e.g. `user:{userId}`; the text before the first ':' is the namespace. */
  readonly subject: string
  /** Field classes in the clear; for body rules also a map class -> element path (`.phone`). */
  readonly fields: readonly FieldClass[] | Readonly<Partial<Record<FieldClass, string>>>
  /** @default 'always' */
  readonly when?: ExposureCondition | undefined
  /** JSON path selecting the records of a body, e.g. `$.comments[*]`. */
  readonly each?: string | undefined
  /** Records per response for feeders that see no body (access logs). */
  readonly count?: number | undefined
  /** Template naming those records: record i is `key + '#' + i`. Required with `count`. */
  readonly key?: string | undefined
}

/** One route as written in config (`routes:`). */
export interface RouteSpec {
  /** `METHOD /pattern`: `:name` segments, a `*` tail; method `*` matches any method. */
  readonly route: string
  /** @default 'api' */
  readonly resource?: ResourceKind | undefined
  /** Path parameter holding an enumerable numeric ID (feeds the enumeration signal). */
  readonly ordinal?: string | undefined
  /** @default [] */
  readonly exposes?: readonly ExposureSpec[] | undefined
}

/** One problem with a route spec: the path inside the spec and what is wrong. */
export interface RouteIssue {
  readonly path: readonly (string | number)[]
  readonly message: string
}

// ---------------------------------------------------------------------------------------------
// JSON paths

/** One step of a JSON path: an object key, an array index, or every element (`[*]`). */
export type JsonPathStep =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'all' }

/** A parsed JSON path: absolute (`$.a[*]`) or relative to an element (`.a.b`, `@`). */
export interface JsonPath {
  readonly text: string
  readonly steps: readonly JsonPathStep[]
}

const IDENT = /^[A-Za-z_$][\w$-]*/

/**
 * Parses the JSON-path subset the catalogue uses: `$` (or `@`, or nothing for a relative path)
 * followed by `.name`, `['name']`, `[0]` and `[*]` steps. Returns an error message instead of
 * throwing so config can report it at the right line.
 */
export function parseJsonPath(text: string, relative = false): JsonPath | string {
  let i = 0
  if (text.startsWith('$')) {
    if (relative) return `expected a path relative to the element (".field"), got "${text}"`
    i = 1
  } else if (text.startsWith('@')) {
    i = 1
  } else if (!relative) {
    return `expected a JSON path starting with "$", got "${text}"`
  }
  const steps: JsonPathStep[] = []
  while (i < text.length) {
    const ch = text[i]
    if (ch === '.') {
      const m = IDENT.exec(text.slice(i + 1))
      if (m === null) return `expected a field name after "." at offset ${i} in "${text}"`
      steps.push({ kind: 'key', key: m[0] })
      i += 1 + m[0].length
    } else if (ch === '[') {
      const close = text.indexOf(']', i)
      if (close < 0) return `unclosed "[" at offset ${i} in "${text}"`
      const inner = text.slice(i + 1, close).trim()
      if (inner === '*') steps.push({ kind: 'all' })
      else if (/^\d{1,9}$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) })
      else if (/^'[^']*'$/.test(inner) || /^"[^"]*"$/.test(inner))
        steps.push({ kind: 'key', key: inner.slice(1, -1) })
      else return `unsupported step "[${inner}]" in "${text}" (use [*], [0] or ['name'])`
      i = close + 1
    } else {
      return `unexpected "${ch}" at offset ${i} in "${text}"`
    }
  }
  if (relative && steps.length === 0 && !text.startsWith('@')) {
    return `expected a path relative to the element (".field" or "@"), got "${text}"`
  }
  return { text, steps }
}

/** Values a JSON path selects from a parsed JSON document (`[*]` fans out). */
export function selectJsonPath(value: unknown, path: JsonPath): unknown[] {
  let current: unknown[] = [value]
  for (const step of path.steps) {
    const next: unknown[] = []
    for (const v of current) {
      if (v === null || typeof v !== 'object') continue
      if (step.kind === 'all') {
        if (Array.isArray(v)) for (const x of v) next.push(x)
        else for (const x of Object.values(v)) next.push(x)
      } else if (step.kind === 'index') {
        if (Array.isArray(v) && step.index < v.length) next.push(v[step.index])
      } else if (Object.hasOwn(v, step.key)) {
        next.push((v as Record<string, unknown>)[step.key])
      }
    }
    current = next
  }
  return current
}

/** The single value a path without `[*]` reaches, or undefined. */
function getJsonPath(value: unknown, path: JsonPath): unknown {
  let v = value
  for (const step of path.steps) {
    if (v === null || typeof v !== 'object') return undefined
    if (step.kind === 'index') v = Array.isArray(v) ? v[step.index] : undefined
    else if (step.kind === 'key')
      v = Object.hasOwn(v, step.key) ? (v as Record<string, unknown>)[step.key] : undefined
    else return undefined
  }
  return v
}

// ---------------------------------------------------------------------------------------------
// Templates

/** One piece of a template: literal text, a path parameter, a query parameter or an element field. */
export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'query'; readonly name: string }
  | { readonly kind: 'field'; readonly path: JsonPath }

/**
 * A parsed subject or key template. `namespace` is the literal text before the first ':' (the
 * Keyer namespace); `parts` render the rest (the digested value).
 */
export interface Template {
  readonly text: string
  readonly namespace: string
  readonly parts: readonly TemplatePart[]
}

/**
 * Parses `user:{userId}`, `comments:{itemId}:{?page}`, `user:{.userId}`. The namespace must be
 * literal so that digests of different kinds of record never share a keyspace.
 */
export function parseTemplate(text: string): Template | string {
  const colon = text.indexOf(':')
  const brace = text.indexOf('{')
  if (colon <= 0 || (brace >= 0 && brace < colon)) {
    return `expected "namespace:value" with a literal namespace (e.g. "user:{userId}"), got "${text}"`
  }
  const namespace = text.slice(0, colon)
  if (!/^[a-z][\w-]*$/i.test(namespace)) return `namespace "${namespace}" must be a plain word`
  const parts: TemplatePart[] = []
  let i = colon + 1
  let literal = ''
  while (i < text.length) {
    const ch = text[i] as string
    if (ch === '}') return `unmatched "}" at offset ${i} in "${text}"`
    if (ch !== '{') {
      literal += ch
      i++
      continue
    }
    const close = text.indexOf('}', i)
    if (close < 0) return `unclosed "{" at offset ${i} in "${text}"`
    const inner = text.slice(i + 1, close)
    if (literal !== '') parts.push({ kind: 'text', text: literal })
    literal = ''
    if (inner.startsWith('?')) {
      if (!/^[\w.[\]-]+$/.test(inner.slice(1)))
        return `bad query parameter "{${inner}}" in "${text}"`
      parts.push({ kind: 'query', name: inner.slice(1) })
    } else if (inner.startsWith('.') || inner.startsWith('[') || inner === '@') {
      const path = parseJsonPath(inner, true)
      if (typeof path === 'string') return path
      parts.push({ kind: 'field', path })
    } else if (/^[A-Za-z_]\w*$/.test(inner) || inner === '*') {
      parts.push({ kind: 'param', name: inner })
    } else {
      return `bad placeholder "{${inner}}" in "${text}" (use {param}, {?query} or {.field})`
    }
    i = close + 1
  }
  if (literal !== '') parts.push({ kind: 'text', text: literal })
  if (parts.length === 0) return `template "${text}" has nothing after the namespace`
  return { text, namespace, parts }
}

// ---------------------------------------------------------------------------------------------
// Route patterns

/** Methods a route may name; `*` matches any. HEAD also matches GET routes. */
const METHOD = /^(?:[A-Z]+|\*)$/

interface ParsedPattern {
  readonly method: string
  readonly pattern: string
  /** Segments: literal text (lowercased), ':' for a parameter, '*' for the tail. */
  readonly segments: readonly string[]
  /** Parameter names in segment order (the tail, if any, is '*'). */
  readonly params: readonly string[]
}

function parseRoute(text: string): ParsedPattern | string {
  const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(text)
  if (m === null) return `expected "METHOD /path", got "${text}"`
  const method = (m[1] as string).toUpperCase()
  const pattern = m[2] as string
  if (!METHOD.test(method)) return `bad method "${m[1]}"`
  if (!pattern.startsWith('/')) return `path pattern must start with "/", got "${pattern}"`
  if (/[?#]/.test(pattern)) return `path pattern must not contain a query or fragment`
  const raw = pattern.split('/').filter((s) => s !== '')
  const segments: string[] = []
  const params: string[] = []
  for (const [i, seg] of raw.entries()) {
    if (seg === '*') {
      if (i !== raw.length - 1) return `"*" may only be the last segment of "${pattern}"`
      segments.push('*')
      params.push('*')
    } else if (seg.startsWith(':')) {
      const name = seg.slice(1)
      if (!/^[A-Za-z_]\w*$/.test(name)) return `bad parameter name "${seg}" in "${pattern}"`
      if (params.includes(name)) return `parameter ":${name}" appears twice in "${pattern}"`
      segments.push(':')
      params.push(name)
    } else if (/[:*{}]/.test(seg)) {
      return `segment "${seg}" mixes text with ":" or "*" (a parameter takes a whole segment)`
    } else {
      segments.push(normaliseSegment(seg))
    }
  }
  return { method, pattern, segments, params }
}

/**
 * Static segments match case-insensitively and percent-decoded: common servers (Express by
 * default, IIS) route `/API/Users/1` and `/api/%75sers/1` to the same handler, and a harvester
 * must not dodge accounting by spelling the path differently from the catalogue.
 */
function normaliseSegment(seg: string): string {
  // Most segments are already lowercase ASCII without escapes: skip both passes for them.
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i)
    if (c === 37 || (c >= 65 && c <= 90) || c > 127) return decodeSafe(seg).toLowerCase()
  }
  return seg
}

function decodeSafe(s: string): string {
  if (!s.includes('%')) return s
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

// ---------------------------------------------------------------------------------------------
// Validation

function templateRefs(template: Template): { params: string[]; queries: string[]; fields: number } {
  const params: string[] = []
  const queries: string[] = []
  let fields = 0
  for (const p of template.parts) {
    if (p.kind === 'param') params.push(p.name)
    else if (p.kind === 'query') queries.push(p.name)
    else if (p.kind === 'field') fields++
  }
  return { params, queries, fields }
}

/**
 * Every problem with one route spec, each with its path inside the spec. Config calls this to
 * report positioned issues; {@link compileCatalogue} refuses specs that have any.
 */
export function validateRouteSpec(spec: RouteSpec): RouteIssue[] {
  const issues: RouteIssue[] = []
  const parsed = parseRoute(spec.route)
  if (typeof parsed === 'string') {
    issues.push({ path: ['route'], message: parsed })
    return issues
  }
  if (spec.resource !== undefined && !(RESOURCE_KINDS as readonly string[]).includes(spec.resource))
    issues.push({ path: ['resource'], message: `expected one of ${RESOURCE_KINDS.join(', ')}` })
  if (spec.ordinal !== undefined && !parsed.params.includes(spec.ordinal)) {
    issues.push({
      path: ['ordinal'],
      message: `"${spec.ordinal}" is not a parameter of "${parsed.pattern}"`,
    })
  }
  for (const [i, rule] of (spec.exposes ?? []).entries()) {
    const at = (...rest: (string | number)[]): (string | number)[] => ['exposes', i, ...rest]
    const known = (refs: { params: string[] }, key: string): void => {
      for (const p of refs.params) {
        if (!parsed.params.includes(p))
          issues.push({
            path: at(key),
            message: `{${p}} is not a parameter of "${parsed.pattern}"`,
          })
      }
    }
    const subject = parseTemplate(rule.subject)
    if (typeof subject === 'string') issues.push({ path: at('subject'), message: subject })
    else {
      const refs = templateRefs(subject)
      known(refs, 'subject')
      if (refs.fields > 0 && rule.each === undefined)
        issues.push({ path: at('subject'), message: '{.field} placeholders need "each"' })
    }
    if (Array.isArray(rule.fields)) {
      if (rule.fields.length === 0)
        issues.push({ path: at('fields'), message: 'lists no field class' })
      for (const [j, f] of rule.fields.entries()) {
        if (!(FIELD_CLASSES as readonly string[]).includes(f))
          issues.push({ path: at('fields', j), message: `unknown field class "${f}"` })
      }
    } else {
      const entries = Object.entries(rule.fields)
      if (rule.each === undefined)
        issues.push({ path: at('fields'), message: 'a class -> path map needs "each"' })
      if (entries.length === 0) issues.push({ path: at('fields'), message: 'lists no field class' })
      for (const [cls, path] of entries) {
        if (!(FIELD_CLASSES as readonly string[]).includes(cls))
          issues.push({ path: at('fields', cls), message: `unknown field class "${cls}"` })
        const p = parseJsonPath(String(path), true)
        if (typeof p === 'string') issues.push({ path: at('fields', cls), message: p })
      }
    }
    if (rule.each !== undefined) {
      const each = parseJsonPath(rule.each)
      if (typeof each === 'string') issues.push({ path: at('each'), message: each })
    }
    if (rule.count !== undefined) {
      if (rule.each === undefined)
        issues.push({ path: at('count'), message: '"count" belongs to a body rule with "each"' })
      if (
        !Number.isInteger(rule.count) ||
        rule.count < 1 ||
        rule.count > MAX_RECORDS_PER_RESPONSE
      ) {
        issues.push({
          path: at('count'),
          message: `expected an integer from 1 to ${MAX_RECORDS_PER_RESPONSE}`,
        })
      }
      if (rule.key === undefined)
        issues.push({
          path: at('count'),
          message: '"count" needs a "key" template naming the records',
        })
    }
    if (rule.key !== undefined) {
      if (rule.count === undefined) issues.push({ path: at('key'), message: '"key" needs "count"' })
      const key = parseTemplate(rule.key)
      if (typeof key === 'string') issues.push({ path: at('key'), message: key })
      else {
        const refs = templateRefs(key)
        known(refs, 'key')
        if (refs.fields > 0)
          issues.push({ path: at('key'), message: 'a key cannot use {.field}: no body is seen' })
      }
    }
  }
  return issues
}

// ---------------------------------------------------------------------------------------------
// Compiled catalogue

/** A path rule (or the body-less side of a body rule) ready to render. */
export interface PathRule {
  readonly template: Template
  readonly fields: FieldMask
  readonly accountOnly: boolean
  /** Records per response (1 for a path rule). Record i of a body-less rule is `key#i`. */
  readonly count: number
  /** True for `count`/`key` rules: the rendered value gets `#i` appended per record. */
  readonly numbered: boolean
}

/** A body rule for feeders that see the JSON body: which elements, whose record, which fields. */
export interface BodyRule {
  readonly each: JsonPath
  readonly subject: Template
  /** Classes disclosed, with the element path that holds each (undefined: always present). */
  readonly fields: readonly { readonly cls: FieldClass; readonly path: JsonPath | undefined }[]
  /** All classes of the rule as a mask. */
  readonly mask: FieldMask
  readonly accountOnly: boolean
  /** The same rule compiled to direct reads (see {@link bodyExposures}). */
  readonly reader: BodyReader
}

/**
 * A body rule compiled once at load: the element selection, the subject template and the field
 * paths as direct property reads, so that a response's elements cost no JSON-path step loop, no
 * template walk and no intermediate arrays (`bodyExposures` was ~60 % of the guard's per-response
 * accounting, 14 elements, before the keyer).
 */
export interface BodyReader {
  /**
   * The elements `each` selects, in order: the body's own array when the path ends in `[*]` on
   * an array (read only, never copied), else what {@link selectJsonPath} returns.
   */
  elements(body: unknown): readonly unknown[]
  /**
   * The subject template split around its single `{.field}` placeholder: `before` and `after`
   * are rendered once per response (path and query parameters, literal text), the field once per
   * element. Undefined when the template has no field or several (rendered per element then).
   */
  readonly field: ValueReader | undefined
  /** Classes of the rule without an element path (always disclosed). */
  readonly always: FieldMask
  /** Field classes with an element path: their reads and bits, in declaration order. */
  readonly reads: readonly ValueReader[]
  readonly bits: readonly FieldMask[]
}

/** Reads a relative JSON path of an element, `undefined` when it is absent. */
export type ValueReader = (element: unknown) => unknown

/** One own property: the common `.name` path, without the step loop of getJsonPath. */
function keyReader(key: string): ValueReader {
  return (v) =>
    v !== null && typeof v === 'object' && Object.hasOwn(v, key)
      ? (v as Record<string, unknown>)[key]
      : undefined
}

function compileReader(path: JsonPath): ValueReader {
  const steps = path.steps
  if (steps.length === 0) return (v) => v
  const first = steps[0]!
  if (steps.length === 1 && first.kind === 'key') return keyReader(first.key)
  return (v) => getJsonPath(v, path)
}

const NO_ELEMENTS: readonly unknown[] = Object.freeze([])

function compileElements(each: JsonPath): (body: unknown) => readonly unknown[] {
  const steps = each.steps
  const last = steps.at(-1)
  const keys: string[] = []
  for (const step of steps.slice(0, last?.kind === 'all' ? -1 : steps.length)) {
    if (step.kind !== 'key') return (body) => selectJsonPath(body, each)
    keys.push(step.key)
  }
  const fanOut = last?.kind === 'all'
  // Own keys walked as getJsonPath and selectJsonPath walk them; `[*]` as selectJsonPath fans
  // out (an array's elements, an object's values).
  return (body) => {
    let v = body
    for (let i = 0; i < keys.length; i++) {
      if (v === null || typeof v !== 'object' || !Object.hasOwn(v, keys[i]!)) return NO_ELEMENTS
      v = (v as Record<string, unknown>)[keys[i]!]
    }
    if (!fanOut) return [v]
    if (v === null || typeof v !== 'object') return NO_ELEMENTS
    return Array.isArray(v) ? v : Object.values(v)
  }
}

function compileBodyReader(
  each: JsonPath,
  subject: Template,
  fields: readonly { readonly cls: FieldClass; readonly path: JsonPath | undefined }[],
): BodyReader {
  const placeholders = subject.parts.filter((p) => p.kind === 'field')
  const only = placeholders.length === 1 ? placeholders[0] : undefined
  let always = 0
  const reads: ValueReader[] = []
  const bits: FieldMask[] = []
  for (const f of fields) {
    if (f.path === undefined) always |= FIELD_BIT[f.cls]
    else {
      reads.push(compileReader(f.path))
      bits.push(FIELD_BIT[f.cls])
    }
  }
  return Object.freeze({
    elements: compileElements(each),
    field: only?.kind === 'field' ? compileReader(only.path) : undefined,
    always,
    reads: Object.freeze(reads),
    bits: Object.freeze(bits),
  })
}

/** One compiled route. */
export interface Route {
  /** `METHOD /pattern` as normalised; the value of Event.route. */
  readonly id: string
  readonly method: string
  readonly pattern: string
  readonly resource: ResourceKind
  /** Parameter names in path order (`*` for the tail). */
  readonly params: readonly string[]
  /** Index into params of the ordinal parameter, -1 when none. */
  readonly ordinalIndex: number
  readonly pathRules: readonly PathRule[]
  readonly bodyRules: readonly BodyRule[]
  /** Declaration order in the catalogue. */
  readonly index: number
}

/** The result of {@link Catalogue.match}. */
export interface RouteMatch {
  readonly route: Route
  /** Parameter values, percent-decoded, by name (`*` holds the tail without leading '/'). */
  readonly params: Readonly<Record<string, string>>
  /** The raw query string without '?', '' when none. */
  readonly query: string
  /** The ordinal parameter as a non-negative integer, -1 when none or not numeric. */
  readonly ordinal: number
}

interface Node {
  readonly statics: Map<string, Node>
  param: Node | undefined
  route: Route | undefined
  tail: Route | undefined
}

function newNode(): Node {
  return { statics: new Map(), param: undefined, route: undefined, tail: undefined }
}

/** Anything that digests: the Keyer port or a bare function. */
export type DigestFn = Keyer | ((namespace: string, value: string) => Digest)

/**
 * A compiled route catalogue: match requests to routes and turn matches into exposures.
 * @example
 * const catalogue = compileCatalogue(config.routes)
 * const m = catalogue.match('GET', '/api/users/42?x=1')
 * const exposures = m ? pathExposures(m, keyer, hasAccount) : []
 */
export interface Catalogue {
  readonly routes: readonly Route[]
  /** The route a request hits, or undefined. HEAD falls back to GET routes. */
  match(method: string, path: string): RouteMatch | undefined
}

/**
 * Compiles route specs into a {@link Catalogue}. Throws HarvestGuardError `HG_ROUTE_INVALID`
 * listing every problem when a spec is invalid (config reports the same problems with file
 * positions before it gets here).
 */
export function compileCatalogue(specs: readonly RouteSpec[]): Catalogue {
  const problems: string[] = []
  const seen = new Map<string, number>()
  for (const [i, spec] of specs.entries()) {
    for (const issue of validateRouteSpec(spec))
      problems.push(`routes[${i}].${issue.path.join('.')}: ${issue.message}`)
    const parsed = parseRoute(spec.route)
    if (typeof parsed !== 'string') {
      const id = `${parsed.method} ${parsed.segments.join('/')}`
      const prior = seen.get(id)
      if (prior !== undefined)
        problems.push(`routes[${i}].route: same route as routes[${prior}] ("${spec.route}")`)
      seen.set(id, i)
    }
  }
  if (problems.length > 0)
    throw new HarvestGuardError(
      'HG_ROUTE_INVALID',
      `invalid route catalogue:\n${problems.join('\n')}`,
    )

  const trees = new Map<string, Node>()
  const routes: Route[] = []
  for (const [index, spec] of specs.entries()) {
    const parsed = parseRoute(spec.route) as ParsedPattern
    const route = buildRoute(spec, parsed, index)
    routes.push(route)
    let node = trees.get(parsed.method)
    if (node === undefined) trees.set(parsed.method, (node = newNode()))
    for (const seg of parsed.segments) {
      if (seg === '*') break
      if (seg === ':') node = node.param ??= newNode()
      else {
        let next = node.statics.get(seg)
        if (next === undefined) node.statics.set(seg, (next = newNode()))
        node = next
      }
    }
    if (parsed.segments.at(-1) === '*') node.tail = route
    else node.route = route
  }
  return new CompiledCatalogue(routes, trees)
}

/** Validated specs only (see compileCatalogue). */
function buildRoute(spec: RouteSpec, parsed: ParsedPattern, index: number): Route {
  const pathRules: PathRule[] = []
  const bodyRules: BodyRule[] = []
  for (const rule of spec.exposes ?? []) {
    const accountOnly = rule.when === 'account'
    const classes = (
      Array.isArray(rule.fields) ? rule.fields : Object.keys(rule.fields)
    ) as FieldClass[]
    const mask = fieldMask(classes)
    const subject = parseTemplate(rule.subject) as Template
    if (rule.each === undefined) {
      pathRules.push({ template: subject, fields: mask, accountOnly, count: 1, numbered: false })
      continue
    }
    const fields = Array.isArray(rule.fields)
      ? classes.map((cls) => ({ cls, path: undefined }))
      : Object.entries(rule.fields).map(([cls, p]) => ({
          cls: cls as FieldClass,
          path: parseJsonPath(String(p), true) as JsonPath,
        }))
    const each = parseJsonPath(rule.each) as JsonPath
    bodyRules.push({
      each,
      subject,
      fields,
      mask,
      accountOnly,
      reader: compileBodyReader(each, subject, fields),
    })
    if (rule.count !== undefined && rule.key !== undefined) {
      pathRules.push({
        template: parseTemplate(rule.key) as Template,
        fields: mask,
        accountOnly,
        count: rule.count,
        numbered: true,
      })
    }
  }
  return Object.freeze({
    id: `${parsed.method} ${parsed.pattern}`,
    method: parsed.method,
    pattern: parsed.pattern,
    resource: spec.resource ?? 'api',
    params: parsed.params,
    ordinalIndex: spec.ordinal === undefined ? -1 : parsed.params.indexOf(spec.ordinal),
    pathRules: Object.freeze(pathRules),
    bodyRules: Object.freeze(bodyRules),
    index,
  })
}

class CompiledCatalogue implements Catalogue {
  readonly routes: readonly Route[]
  readonly #trees: Map<string, Node>

  constructor(routes: readonly Route[], trees: Map<string, Node>) {
    this.routes = Object.freeze(routes)
    this.#trees = trees
  }

  match(method: string, path: string): RouteMatch | undefined {
    if (this.routes.length === 0) return undefined
    let end = path.length
    let query = ''
    const q = path.indexOf('?')
    const h = path.indexOf('#')
    if (h >= 0) end = h
    if (q >= 0 && q < end) {
      query = path.slice(q + 1, end)
      end = q
    }
    const segments = splitPath(path, end)
    const m = method.toUpperCase()
    const values: string[] = []
    const found =
      this.#walkTree(m, segments, values) ??
      (m === 'HEAD' ? this.#walkTree('GET', segments, values) : undefined) ??
      this.#walkTree('*', segments, values)
    if (found === undefined) return undefined
    const params: Record<string, string> = {}
    for (const [i, name] of found.params.entries()) params[name] = values[i] ?? ''
    let ordinal = -1
    if (found.ordinalIndex >= 0) {
      const v = values[found.ordinalIndex] ?? ''
      // 15 digits keep it a safe integer; leading zeros still name the same record.
      if (/^\d{1,15}$/.test(v)) ordinal = Number(v)
    }
    return { route: found, params, query, ordinal }
  }

  #walkTree(method: string, segments: string[], values: string[]): Route | undefined {
    const root = this.#trees.get(method)
    if (root === undefined) return undefined
    values.length = 0
    return walk(root, segments, 0, values)
  }
}

/** Non-empty segments of `path` up to `end` (doubled and trailing slashes ignored). */
function splitPath(path: string, end: number): string[] {
  const out: string[] = []
  let start = 0
  for (let i = 0; i <= end; i++) {
    if (i === end || path.charCodeAt(i) === 47) {
      if (i > start) out.push(path.slice(start, i))
      start = i + 1
    }
  }
  return out
}

/** Depth-first: static beats parameter beats tail, backtracking when a branch dead-ends. */
function walk(node: Node, segments: string[], i: number, values: string[]): Route | undefined {
  if (i === segments.length) {
    if (node.route !== undefined) return node.route
    if (node.tail !== undefined) {
      values.push('')
      return node.tail
    }
    return undefined
  }
  const seg = segments[i] as string
  const next = node.statics.size === 0 ? undefined : node.statics.get(normaliseSegment(seg))
  if (next !== undefined) {
    const r = walk(next, segments, i + 1, values)
    if (r !== undefined) return r
  }
  if (node.param !== undefined) {
    const depth = values.length
    values.push(decodeSafe(seg))
    const r = walk(node.param, segments, i + 1, values)
    if (r !== undefined) return r
    values.length = depth
  }
  if (node.tail !== undefined) {
    values.push(segments.slice(i).map(decodeSafe).join('/'))
    return node.tail
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Exposures

/** The first value of query parameter `name` in a raw query string, or undefined. */
export function queryParam(query: string, name: string): string | undefined {
  if (query === '') return undefined
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=')
    const k = decodeQuery(eq < 0 ? pair : pair.slice(0, eq))
    if (k === name) return eq < 0 ? '' : decodeQuery(pair.slice(eq + 1))
  }
  return undefined
}

function decodeQuery(s: string): string {
  return decodeSafe(s.includes('+') ? s.replaceAll('+', ' ') : s)
}

function toDigestFn(keyer: DigestFn): (namespace: string, value: string) => Digest {
  return typeof keyer === 'function' ? keyer : (ns, v) => keyer.digest(ns, v)
}

/**
 * Renders a template's value (the part after the namespace). Returns undefined when a
 * parameter, query parameter or element field it needs is missing or empty: no value, no record.
 * With `lenientQuery`, a missing query parameter renders as '' (keys: `?page` absent = page 1).
 */
export function renderTemplate(
  template: Template,
  match: RouteMatch,
  element?: unknown,
  lenientQuery = false,
): string | undefined {
  let out = ''
  for (const part of template.parts) {
    if (part.kind === 'text') out += part.text
    else if (part.kind === 'param') {
      const v = match.params[part.name]
      if (v === undefined || v === '') return undefined
      out += v
    } else if (part.kind === 'query') {
      const v = queryParam(match.query, part.name)
      if (v === undefined || v === '') {
        if (!lenientQuery) return undefined
      } else out += v
    } else {
      const v = getJsonPath(element, part.path)
      if (typeof v === 'string' && v !== '') out += v
      else if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean')
        out += String(v)
      else return undefined
    }
  }
  return out
}

function addExposure(out: Exposure[], subject: Digest, fields: FieldMask): void {
  // One record served twice in a response (two rules naming the same subject) is one exposure.
  for (let i = 0; i < out.length; i++) {
    const e = out[i] as Exposure
    if (e.subject === subject) {
      out[i] = { subject, fields: e.fields | fields }
      return
    }
  }
  out.push({ subject, fields })
}

/**
 * Exposures a matched request carries as far as a feeder without the response body can tell:
 * path rules (subject from path/query parameters) and the `count`/`key` side of body rules.
 * Rules with `when: account` apply only when `hasAccount`.
 */
export function pathExposures(match: RouteMatch, keyer: DigestFn, hasAccount: boolean): Exposure[] {
  const rules = match.route.pathRules
  const out: Exposure[] = []
  if (rules.length === 0) return out
  const digest = toDigestFn(keyer)
  for (const rule of rules) {
    if (rule.accountOnly && !hasAccount) continue
    const value = renderTemplate(rule.template, match, undefined, rule.numbered)
    if (value === undefined) continue
    const ns = rule.template.namespace
    if (!rule.numbered) addExposure(out, digest(ns, value), rule.fields)
    else
      for (let i = 0; i < rule.count; i++)
        out.push({ subject: digest(ns, `${value}#${i}`), fields: rule.fields })
  }
  return out
}

/**
 * Exposures a request carries as far as a feeder that sees no body and no headers can tell (an
 * access log): {@link pathExposures}, plus the body rules that select the response's root
 * (`each: '$'`, one record) and name their subject from path and query parameters only, such as
 * a profile route `subject: 'user:{userId}'` with `fields: { name: '.nickname' }`: the record is
 * known from the request alone, and its declared classes count (as for path rules, a log cannot
 * tell which fields the body held). Elements of a list (`$.comments[*]`) are counted only
 * through `count`/`key`. {@link pathExposures} itself is unchanged (the HTTP guard uses it for
 * bodies it did not parse, where a body rule's fields are not known to be there).
 */
export function logExposures(match: RouteMatch, keyer: DigestFn, hasAccount: boolean): Exposure[] {
  const out = pathExposures(match, keyer, hasAccount)
  const rules = match.route.bodyRules
  if (rules.length === 0) return out
  const digest = toDigestFn(keyer)
  for (const rule of rules) {
    if (rule.accountOnly && !hasAccount) continue
    if (rule.each.steps.length !== 0) continue
    if (rule.subject.parts.some((p) => p.kind === 'field')) continue
    const value = renderTemplate(rule.subject, match)
    if (value === undefined || rule.mask === 0) continue
    addExposure(out, digest(rule.subject.namespace, value), rule.mask)
  }
  return out
}

/** A template value rendered from an element field, as {@link renderTemplate} renders it. */
function fieldText(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v)
  return undefined
}

/**
 * The subject template's text before and after its single `{.field}` placeholder for this
 * match, or undefined when a parameter it needs is missing (then no element renders).
 */
function renderAround(
  template: Template,
  match: RouteMatch,
): { before: string; after: string } | undefined {
  let before = ''
  let after = ''
  let seen = false
  for (const part of template.parts) {
    let text: string
    if (part.kind === 'field') {
      seen = true
      continue
    } else if (part.kind === 'text') text = part.text
    else if (part.kind === 'param') {
      const v = match.params[part.name]
      if (v === undefined || v === '') return undefined
      text = v
    } else {
      const v = queryParam(match.query, part.name)
      if (v === undefined || v === '') return undefined
      text = v
    }
    if (seen) after += text
    else before += text
  }
  return { before, after }
}

// Above this many records in one response, duplicates are found through a Map, below by a scan
// (most pages list a few dozen records; a Map per response cost more than the scan).
const SCAN_LIMIT = 32

/**
 * Exposures in a parsed JSON response body per the route's body rules: one per selected element
 * whose subject renders, with the classes whose element path holds a non-empty value. Runs the
 * rules' compiled readers ({@link BodyReader}); the result is the same as rendering each
 * element's subject with {@link renderTemplate} and reading each field path.
 */
export function bodyExposures(
  match: RouteMatch,
  body: unknown,
  keyer: DigestFn,
  hasAccount: boolean,
): Exposure[] {
  const out: Exposure[] = []
  // A page can list hundreds of elements, several about the same person: one exposure each.
  let at: Map<Digest, number> | undefined
  const fn = typeof keyer === 'function' ? keyer : undefined
  for (const rule of match.route.bodyRules) {
    if (rule.accountOnly && !hasAccount) continue
    const reader = rule.reader
    const elements = reader.elements(body)
    if (elements.length === 0) continue
    const field = reader.field
    const around = field === undefined ? undefined : renderAround(rule.subject, match)
    if (field !== undefined && around === undefined) continue
    const ns = rule.subject.namespace
    const reads = reader.reads
    const bits = reader.bits
    for (let e = 0; e < elements.length; e++) {
      const element = elements[e]
      let value: string | undefined
      if (around !== undefined) {
        const text = fieldText((field as ValueReader)(element))
        if (text === undefined) continue
        value =
          around.before === ''
            ? around.after === ''
              ? text
              : text + around.after
            : around.before + text + around.after
      } else {
        value = renderTemplate(rule.subject, match, element)
        if (value === undefined) continue
      }
      let mask = reader.always
      for (let f = 0; f < reads.length; f++) {
        const v = reads[f]!(element)
        if (v !== undefined && v !== null && v !== '') mask |= bits[f]!
      }
      if (mask === 0) continue
      const subject = fn === undefined ? (keyer as Keyer).digest(ns, value) : fn(ns, value)
      let prior = -1
      if (at !== undefined) prior = at.get(subject) ?? -1
      else
        for (let i = 0; i < out.length; i++)
          if (out[i]!.subject === subject) {
            prior = i
            break
          }
      if (prior >= 0) {
        out[prior] = { subject, fields: out[prior]!.fields | mask }
        continue
      }
      out.push({ subject, fields: mask })
      if (at !== undefined) at.set(subject, out.length - 1)
      else if (out.length > SCAN_LIMIT) {
        at = new Map()
        for (let i = 0; i < out.length; i++) at.set(out[i]!.subject, i)
      }
    }
  }
  return out
}
