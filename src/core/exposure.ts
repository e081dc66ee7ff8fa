/**
 * Field classes a response can disclose about a person. Each class has a weight in the policy
 * (a phone number weighs more than a comment) and may be declared protected (masked, and
 * counted as leakage when served in the clear).
 */
export const FIELD_CLASSES = [
  'id',
  'phone',
  'name',
  'email',
  'national-id',
  'address',
  'city',
  'comment',
  'other',
] as const

/** One of {@link FIELD_CLASSES}. */
export type FieldClass = (typeof FIELD_CLASSES)[number]

/** Bit of a field class in a {@link FieldMask}: `1 << FIELD_CLASSES.indexOf(cls)`. */
export const FIELD_BIT: Readonly<Record<FieldClass, number>> = Object.freeze(
  Object.fromEntries(FIELD_CLASSES.map((c, i) => [c, 1 << i])) as Record<FieldClass, number>,
)

/** A set of field classes as a bit mask (hot path: no arrays per exposure). */
export type FieldMask = number

/** The bit mask of a list of field classes. */
export function fieldMask(classes: Iterable<FieldClass>): FieldMask {
  let mask = 0
  for (const c of classes) mask |= FIELD_BIT[c]
  return mask
}

/** The field classes in a mask, in {@link FIELD_CLASSES} order. */
export function fieldClasses(mask: FieldMask): FieldClass[] {
  return FIELD_CLASSES.filter((_, i) => (mask & (1 << i)) !== 0)
}

/**
 * A keyed digest of a subject or personal value: the first 53 bits of a keyed PRF
 * (see the Keyer port) as a non-negative safe integer. 53 bits keep it a plain number on the
 * hot path; at a billion distinct records about 55 pairs collide, which no count here notices.
 */
export type Digest = number

/**
 * One personal record served in a response: whose record (`subject`, a keyed digest of e.g.
 * `user:123`) and which field classes reached the client in the clear.
 */
export interface Exposure {
  readonly subject: Digest
  readonly fields: FieldMask
}

const ZEROS = '0000000'
const HALF = 0x1000_0000 // 2^28: a digest (< 2^53) is two halves of 7 hex digits

/** Formats a digest as 14 lowercase hex digits, the form used in journals and reports. */
export function digestHex(digest: Digest): string {
  // In two 28-bit halves: V8 formats a small integer in hex on a fast path, and a 53-bit one
  // with its general radix conversion, ~0.3 µs, a tenth of the inline guard's request side.
  if (!(digest >= 0 && digest < 2 ** 53) || !Number.isInteger(digest))
    return digest.toString(16).padStart(14, '0')
  const hi = Math.floor(digest / HALF)
  const h = hi.toString(16)
  const l = (digest - hi * HALF).toString(16)
  return ZEROS.slice(h.length) + h + ZEROS.slice(l.length) + l
}
