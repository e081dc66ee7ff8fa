/**
 * In-place rewriting along the catalogue's JSON paths (`$.a.b`, `$.a[*].b`, `.field`), for
 * masking. Selection lives with the catalogue (core); this adds the write side the HTTP feeders
 * need. Walks with no allocation beyond the recursion.
 */
import type { JsonPath, JsonPathStep } from '../core/index.ts'

function visit(
  value: unknown,
  steps: readonly JsonPathStep[],
  at: number,
  replace: (value: unknown) => unknown,
): number {
  if (value === null || typeof value !== 'object') return 0
  const step = steps[at]!
  const last = at === steps.length - 1
  const container = value as Record<string | number, unknown>
  let count = 0
  const apply = (key: string | number): void => {
    if (last) {
      const v = container[key]
      if (v !== undefined && v !== null && v !== '') {
        container[key] = replace(v)
        count++
      }
    } else count += visit(container[key], steps, at + 1, replace)
  }
  if (step.kind === 'all') {
    if (Array.isArray(value)) for (let k = 0; k < value.length; k++) apply(k)
    else for (const k of Object.keys(value)) apply(k)
  } else if (step.kind === 'index') {
    if (Array.isArray(value) && step.index < value.length) apply(step.index)
  } else if (!Array.isArray(value) && Object.hasOwn(value, step.key)) apply(step.key)
  return count
}

/**
 * Replaces in place every non-empty value `path` selects under `root` with `replace(value)`;
 * returns how many were replaced. A path with no steps (`$`, `@`) replaces nothing: the root
 * cannot be swapped in place.
 */
export function updateJsonPath(
  root: unknown,
  path: JsonPath,
  replace: (value: unknown) => unknown,
): number {
  if (path.steps.length === 0) return 0
  return visit(root, path.steps, 0, replace)
}
