/**
 * Discovery of personal values in response text the catalogue does not describe: mainland China
 * mobile numbers, e-mail addresses and resident ID numbers (GB 11643, checksum verified so order
 * numbers and timestamps of 18 digits do not count). One pass of one regular expression over the
 * text; each distinct value is one exposure, keyed by its digest, never kept in the clear.
 */
import { type Exposure, FIELD_BIT, type FieldClass, type Keyer } from '../core/index.ts'

/** Value kinds discovery looks for. */
export const DISCOVERY_KINDS = ['phone', 'email', 'national-id'] as const
/** One of {@link DISCOVERY_KINDS}. */
export type DiscoveryKind = (typeof DISCOVERY_KINDS)[number]

// Groups: 1 e-mail, 2 national ID, 3 mobile. Lookarounds stop matches inside longer tokens.
const PATTERN =
  /(?<![\w.%+-])([A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24})|(?<![\dA-Za-z])([1-9]\d{16}[\dXx])(?![\dA-Za-z])|(?<![\dA-Za-z])(1[3-9]\d{9})(?![\dA-Za-z])/g

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const ID_CHECK = '10X98765432'

/** Whether an 18-character resident ID has a valid ISO 7064 MOD 11-2 check digit and date. */
export function isValidNationalId(id: string): boolean {
  if (!/^[1-9]\d{16}[\dXx]$/.test(id)) return false
  let sum = 0
  for (let i = 0; i < 17; i++) sum += (id.charCodeAt(i) - 48) * ID_WEIGHTS[i]!
  if (ID_CHECK[sum % 11] !== id[17]!.toUpperCase()) return false
  const year = Number(id.slice(6, 10))
  const month = Number(id.slice(10, 12))
  const day = Number(id.slice(12, 14))
  return year >= 1900 && year <= 2100 && month >= 1 && month <= 12 && day >= 1 && day <= 31
}

/** A value found in text: its kind and where it is. */
export interface Finding {
  readonly kind: DiscoveryKind
  readonly value: string
  readonly index: number
}

/** Finds personal values in text, in order. `kinds` limits the search. */
export function findPersonalValues(
  text: string,
  kinds: ReadonlySet<DiscoveryKind> = new Set(DISCOVERY_KINDS),
): Finding[] {
  const out: Finding[] = []
  PATTERN.lastIndex = 0
  for (let m = PATTERN.exec(text); m !== null; m = PATTERN.exec(text)) {
    if (m[1] !== undefined) {
      if (kinds.has('email')) out.push({ kind: 'email', value: m[1], index: m.index })
    } else if (m[2] !== undefined) {
      if (kinds.has('national-id') && isValidNationalId(m[2]))
        out.push({ kind: 'national-id', value: m[2], index: m.index })
    } else if (m[3] !== undefined && kinds.has('phone'))
      out.push({ kind: 'phone', value: m[3], index: m.index })
  }
  return out
}

/**
 * Exposures for the distinct personal values in `text`: subject = keyed digest of the
 * normalised value in the kind's namespace, fields = that kind's class.
 */
export function discoverExposures(
  text: string,
  keyer: Keyer,
  kinds?: ReadonlySet<DiscoveryKind>,
): Exposure[] {
  const seen = new Set<string>()
  const out: Exposure[] = []
  for (const f of findPersonalValues(text, kinds)) {
    const value = f.kind === 'email' ? f.value.toLowerCase() : f.value.toUpperCase()
    const key = `${f.kind}:${value}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push({ subject: keyer.digest(f.kind, value), fields: FIELD_BIT[f.kind as FieldClass] })
  }
  return out
}

/** Masks one personal value of a known kind: `13812345678` -> `138****5678`. */
export function maskValue(kind: DiscoveryKind, value: string): string {
  switch (kind) {
    case 'phone':
      return `${value.slice(0, 3)}****${value.slice(7)}`
    case 'email': {
      const at = value.indexOf('@')
      return `${value.slice(0, 1)}***${value.slice(at)}`
    }
    case 'national-id':
      return `${value.slice(0, 3)}${'*'.repeat(11)}${value.slice(14)}`
  }
}

/** Rewrites every personal value in text with its mask; returns the new text and the count. */
export function maskPersonalValues(
  text: string,
  kinds?: ReadonlySet<DiscoveryKind>,
): { text: string; count: number } {
  const found = findPersonalValues(text, kinds)
  if (found.length === 0) return { text, count: 0 }
  let out = ''
  let at = 0
  for (const f of found) {
    out += text.slice(at, f.index) + maskValue(f.kind, f.value)
    at = f.index + f.value.length
  }
  return { text: out + text.slice(at), count: found.length }
}
