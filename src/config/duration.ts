/**
 * Durations as config writes them (`'24h'`, `'90s'`, `'1h30m'`, `'250ms'`), parsed once into
 * milliseconds. A bare number is rejected on purpose: `window: 24` could mean hours or seconds.
 */
import { z } from 'zod'

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/

/**
 * Milliseconds in a duration string (`'24h'`, `'1h30m'`, `'1.5s'`), or undefined when the text is
 * not one. Units: ms, s, m, h, d, w.
 */
export function parseDuration(text: string): number | undefined {
  const t = text.trim()
  if (!WHOLE.test(t)) return undefined
  let total = 0
  PART.lastIndex = 0
  for (let m = PART.exec(t); m !== null; m = PART.exec(t)) {
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]
  }
  const ms = Math.round(total)
  return Number.isSafeInteger(ms) ? ms : undefined
}

/** Formats milliseconds the way config writes them, largest units first (`90000` -> `'1m30s'`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s'
  let rest = ms
  let out = ''
  for (const [unit, size] of [
    ['w', UNIT_MS.w],
    ['d', UNIT_MS.d],
    ['h', UNIT_MS.h],
    ['m', UNIT_MS.m],
    ['s', UNIT_MS.s],
    ['ms', UNIT_MS.ms],
  ] as const) {
    const n = Math.floor(rest / size)
    if (n > 0) out += `${n}${unit}`
    rest -= n * size
  }
  return out
}

/**
 * zod schema of a duration string, output in milliseconds, within [minMs, maxMs].
 * @example durationSchema({ minMs: 1000 }).default('1s')
 */
export function durationSchema(bounds: { minMs?: number; maxMs?: number } = {}) {
  const minMs = bounds.minMs ?? 1
  const maxMs = bounds.maxMs ?? 366 * UNIT_MS.d
  const expected = `expected a duration like '90s', '15m', '24h' or '30d' from ${formatDuration(minMs)} to ${formatDuration(maxMs)}`
  return z.string({ error: expected }).transform((text, ctx) => {
    const ms = parseDuration(text)
    if (ms === undefined || ms < minMs || ms > maxMs) {
      ctx.addIssue({ code: 'custom', message: expected, input: text })
      return z.NEVER
    }
    return ms
  })
}
