/**
 * Walks the config zod schema and lists every key path with its default, for the docs test
 * (every key documented) and for regenerating docs/configuration.md's tables.
 */
import type { z } from 'zod'

/** One key of the configuration. */
export interface SchemaKey {
  /** Dotted path; list elements as `[]`, mapping values as `<name>`. */
  readonly path: string
  readonly type: string
  /** JSON of the default, or undefined when the key has none (optional or required). */
  readonly default: string | undefined
}

interface Def {
  type: string
  shape?: Record<string, z.ZodType>
  innerType?: z.ZodType
  in?: z.ZodType
  out?: z.ZodType
  element?: z.ZodType
  options?: z.ZodType[]
  valueType?: z.ZodType
  keyType?: z.ZodType
  defaultValue?: unknown
  entries?: Record<string, string>
  values?: unknown[]
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { def: Def }).def
}

/** The schema under wrappers (optional, default, preprocess...) and the default met on the way. */
function unwrap(schema: z.ZodType): { core: z.ZodType; default: unknown; hasDefault: boolean } {
  let s = schema
  let dflt: unknown
  let hasDefault = false
  for (;;) {
    const d = defOf(s)
    if ((d.type === 'default' || d.type === 'prefault') && !hasDefault) {
      const v = d.defaultValue
      dflt = typeof v === 'function' ? (v as () => unknown)() : v
      hasDefault = true
    }
    if (
      d.type === 'optional' ||
      d.type === 'nullable' ||
      d.type === 'default' ||
      d.type === 'prefault'
    )
      s = d.innerType!
    else if (d.type === 'pipe') s = defOf(d.in!).type === 'transform' ? d.out! : d.in!
    else return { core: s, default: dflt, hasDefault }
  }
}

function typeName(schema: z.ZodType): string {
  const d = defOf(schema)
  switch (d.type) {
    case 'enum':
      return Object.values(d.entries ?? {}).join(' \\| ')
    case 'literal':
      return (d.values ?? []).map(String).join(' \\| ')
    case 'array':
      return `list of ${typeName(unwrap(d.element!).core)}`
    case 'object':
      return 'mapping'
    case 'record':
      return `mapping of ${typeName(unwrap(d.valueType!).core)}`
    case 'union':
      return (d.options ?? []).map((o) => typeName(unwrap(o).core)).join(' or ')
    case 'pipe':
      return typeName(d.in!)
    default:
      return d.type
  }
}

/** Every key under `schema`, depth first, in declaration order. */
export function schemaKeys(schema: z.ZodType, prefix = ''): SchemaKey[] {
  const out: SchemaKey[] = []
  const { core } = unwrap(schema)
  const d = defOf(core)
  const objects: z.ZodType[] =
    d.type === 'object'
      ? [core]
      : d.type === 'union'
        ? (d.options ?? []).map((o) => unwrap(o).core).filter((o) => defOf(o).type === 'object')
        : []
  const seen = new Set<string>()
  for (const object of objects) {
    for (const [key, child] of Object.entries(defOf(object).shape ?? {})) {
      const path = prefix === '' ? key : `${prefix}.${key}`
      if (seen.has(path)) continue
      seen.add(path)
      const u = unwrap(child)
      out.push({
        path,
        type: typeName(u.core),
        default: u.hasDefault ? JSON.stringify(u.default) : undefined,
      })
      const cd = defOf(u.core)
      if (cd.type === 'array') out.push(...schemaKeys(cd.element!, `${path}[]`))
      else if (cd.type === 'record') out.push(...schemaKeys(cd.valueType!, `${path}.<name>`))
      else out.push(...schemaKeys(u.core, path))
    }
  }
  return out
}
