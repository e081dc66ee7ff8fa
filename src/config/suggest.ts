/**
 * "Did you mean": the keys a mapping of the schema accepts, and the one closest to a misspelt
 * key. An operator who wrote `snapshotPth` should not have to open the docs to find
 * `snapshotPath`.
 */
import type { z } from 'zod'

interface Def {
  type: string
  shape?: Record<string, z.ZodType>
  innerType?: z.ZodType
  in?: z.ZodType
  out?: z.ZodType
  element?: z.ZodType
  options?: z.ZodType[]
  valueType?: z.ZodType
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch'])

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { def: Def }).def
}

/** The schemas a value at this point may be checked against, wrappers removed. */
function unwrap(schema: z.ZodType): z.ZodType[] {
  const d = defOf(schema)
  if (WRAPPERS.has(d.type) && d.innerType !== undefined) return unwrap(d.innerType)
  if (d.type === 'pipe') {
    // preprocess/transform pipes validate with `out`; schema-then-transform pipes with `in`
    const inner = defOf(d.in!).type === 'transform' ? d.out! : d.in!
    return unwrap(inner)
  }
  if (d.type === 'union') return (d.options ?? []).flatMap(unwrap)
  return [schema]
}

/** Keys accepted by the mapping at `path` of `schema` (empty when it is not a fixed mapping). */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current = unwrap(schema)
  for (const step of path) {
    const next: z.ZodType[] = []
    for (const s of current) {
      const d = defOf(s)
      if (d.type === 'object' && typeof step === 'string' && d.shape?.[step] !== undefined)
        next.push(...unwrap(d.shape[step]))
      else if (d.type === 'array' && typeof step === 'number') next.push(...unwrap(d.element!))
      else if (d.type === 'record') next.push(...unwrap(d.valueType!))
    }
    current = next
  }
  const keys = new Set<string>()
  for (const s of current) for (const k of Object.keys(defOf(s).shape ?? {})) keys.add(k)
  return [...keys]
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return prev[b.length]!
}

/** The known key closest to `key` if it is close enough to be a typo, else undefined. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase()
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1
  for (const k of known) {
    const d = distance(lower, k.toLowerCase())
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  return best
}
