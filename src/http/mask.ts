/**
 * Masking of protected fields in response bodies: JSON fields by the catalogue's element paths,
 * and personal values found by pattern in any text (JSON or HTML). The masked shape keeps enough
 * for a person to recognise their own data (`138****5678`) and nothing a harvester can use.
 */
import { type RouteMatch, FIELD_BIT, type FieldClass, type FieldMask } from '../core/index.ts'
import { type DiscoveryKind, maskPersonalValues, maskValue } from './discovery.ts'
import { updateJsonPath } from './json-path.ts'

const PHONE_RE = /^1[3-9]\d{9}$/
const EMAIL_RE = /^[^@\s]+@[^@\s]+$/
const ID_RE = /^\d{17}[\dXx]$/

/** Masks one field value of a class, keeping its JSON type where that is harmless. */
export function maskField(cls: FieldClass, value: unknown): unknown {
  if (typeof value === 'number') return '*'.repeat(Math.min(String(value).length, 8))
  if (typeof value !== 'string') return value === null || typeof value === 'boolean' ? value : '***'
  if (cls === 'phone' && PHONE_RE.test(value)) return maskValue('phone', value)
  if (cls === 'email' && EMAIL_RE.test(value)) return maskValue('email', value)
  if (cls === 'national-id' && ID_RE.test(value)) return maskValue('national-id', value)
  const chars = Array.from(value)
  if (chars.length <= 1) return '*'
  // Names: keep the family-name character (`张*`), like mainland apps do.
  return chars[0] + '*'.repeat(Math.min(chars.length - 1, 8))
}

/** Discovery kinds whose class is in the protected mask. */
export function protectedKinds(protectedMask: FieldMask): Set<DiscoveryKind> {
  const kinds = new Set<DiscoveryKind>()
  for (const k of ['phone', 'email', 'national-id'] as const)
    if ((protectedMask & FIELD_BIT[k]) !== 0) kinds.add(k)
  return kinds
}

/**
 * Masks protected fields of a parsed JSON body in place, along the route's body-rule element
 * paths; returns the number of values masked.
 */
export function maskJsonFields(
  body: unknown,
  match: RouteMatch | undefined,
  protectedMask: FieldMask,
): number {
  if (match === undefined) return 0
  let count = 0
  for (const rule of match.route.bodyRules) {
    for (const field of rule.fields) {
      if (field.path === undefined || (protectedMask & FIELD_BIT[field.cls]) === 0) continue
      const steps = [...rule.each.steps, ...field.path.steps]
      count += updateJsonPath(body, { text: rule.each.text + field.path.text, steps }, (v) =>
        maskField(field.cls, v),
      )
    }
  }
  return count
}

/**
 * Masks a whole response text: JSON fields by path when the text parses as JSON, then personal
 * values by pattern (phones, e-mails, IDs) anywhere. Returns the new text and how many values
 * changed.
 */
export function maskBodyText(
  text: string,
  json: boolean,
  match: RouteMatch | undefined,
  protectedMask: FieldMask,
): { text: string; count: number } {
  let out = text
  let count = 0
  if (json) {
    try {
      const parsed: unknown = JSON.parse(text)
      const n = maskJsonFields(parsed, match, protectedMask)
      if (n > 0) {
        out = JSON.stringify(parsed)
        count += n
      }
    } catch {
      // Not JSON after all: the pattern pass below still applies.
    }
  }
  const kinds = protectedKinds(protectedMask)
  if (kinds.size > 0) {
    const r = maskPersonalValues(out, kinds)
    out = r.text
    count += r.count
  }
  return { text: out, count }
}
