/**
 * Signals: named, explainable measurements of one ledger. Each signal is pure and has two
 * faces: `points` (the hot path: arithmetic only, no allocation, called at every checkpoint) and
 * `read` (builds the Reading with its plain-English note, called only when a decision is taken).
 * The list of signals is in signals/index.ts.
 */
import type { Reading } from './decision.ts'
import type { Ledger } from './ledger.ts'
import type { CompiledPolicy } from './policy.ts'

/** Names of the signals, as they appear in config, readings and journals. */
export const SIGNAL_NAMES = [
  'distinct-records',
  'enumeration',
  'periodicity',
  'round-the-clock',
  'no-assets',
  'no-referer',
  'header-anomalies',
  'error-ratio',
  'no-context',
  'private-records',
] as const
/** One of {@link SIGNAL_NAMES}. */
export type SignalName = (typeof SIGNAL_NAMES)[number]

/** What a signal may look at besides the ledger. */
export interface SignalContext {
  readonly policy: CompiledPolicy
  /** Index of the principal's kind in PRINCIPAL_KINDS. */
  readonly kind: number
  /** Event time of the evaluation. */
  readonly timeMs: number
}

/** One explainable measurement of a ledger. */
export interface Signal {
  readonly name: SignalName
  /** Index of the signal in {@link SIGNAL_NAMES} (for per-class weights). */
  readonly index: number
  /** Points this signal adds for the ledger now, before the class's weight; 0 when quiet. */
  points(ledger: Ledger, ctx: SignalContext): number
  /** The measured value in the signal's unit (for readings). */
  value(ledger: Ledger, ctx: SignalContext): number
  /** One line a person understands, e.g. `1,240 distinct records in 24h, budget 300`. */
  note(ledger: Ledger, ctx: SignalContext): string
}

/** Builds a Reading from a signal with the given (weighted) contribution. */
export function readSignal(
  signal: Signal,
  ledger: Ledger,
  ctx: SignalContext,
  contribution: number,
): Reading {
  return {
    signal: signal.name,
    value: round3(signal.value(ledger, ctx)),
    contribution: round3(contribution),
    note: signal.note(ledger, ctx),
  }
}

/** Rounds to three decimals (readings are for people and journals, not arithmetic). */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000
}

/** `1240` -> `1,240`, `0.5` -> `0.5` (locale-independent, core has no Intl guarantees). */
export function formatCount(n: number): string {
  const r = Math.round(n)
  if (Math.abs(n - r) > 1e-9) return String(round3(n))
  const s = String(Math.abs(r))
  let out = ''
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ','
    out += s[i]
  }
  return r < 0 ? `-${out}` : out
}

/** `0.934` -> `93%`. */
export function formatShare(x: number): string {
  return `${Math.round(x * 100)}%`
}
