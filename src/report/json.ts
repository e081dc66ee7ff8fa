/**
 * The `analyze --json` document: a stable, documented schema (docs/analyze.md). Times are ISO
 * 8601 strings (null when unknown), principals are `kind` lists of values (account, key, device
 * and session values are keyed digests), reasons are the engine's readings of the actor's
 * strongest decision.
 */
import type { Action, Reading } from '../core/index.ts'
import type { FieldClass } from '../core/index.ts'
import type { ActorReport, Verdict } from './collector.ts'

/** Schema identifier; bumped only on incompatible changes. */
export const ANALYZE_SCHEMA = 'harvestguard.analyze/1'

/** Totals of an analysis run. */
export interface AnalysisSummary {
  readonly files: readonly string[]
  readonly formats: Readonly<Record<string, string>>
  readonly bytes: number
  readonly lines: number
  readonly malformed: number
  readonly events: number
  readonly firstTimeMs: number
  readonly lastTimeMs: number
  readonly durationMs: number
  readonly malformedSamples: readonly { file: string; line: number; text: string }[]
  readonly issues: readonly {
    file: string
    code: string
    message: string
    position: number
    line: number
  }[]
  readonly decisions: number
}

/** The `--json` document. */
export interface AnalyzeJson {
  readonly schema: typeof ANALYZE_SCHEMA
  readonly summary: {
    readonly files: readonly string[]
    readonly formats: Readonly<Record<string, string>>
    readonly bytes: number
    readonly lines: number
    readonly malformed: number
    readonly events: number
    readonly decisions: number
    readonly firstTime: string | null
    readonly lastTime: string | null
    readonly durationMs: number
    readonly linesPerSecond: number
    readonly malformedSamples: readonly { file: string; line: number; text: string }[]
    readonly issues: readonly {
      file: string
      code: string
      message: string
      position: number
      line: number
    }[]
    readonly actors: Readonly<Record<Verdict, number>>
  }
  readonly actors: readonly {
    readonly id: string
    readonly verdict: Verdict
    readonly action: Action
    readonly score: number
    readonly principals: ActorReport['principals']
    readonly distinctRecords: number
    readonly byField: Partial<Record<FieldClass, number>>
    readonly requests: number
    readonly firstSeen: string | null
    readonly lastSeen: string | null
    readonly firstFlagged: string | null
    readonly reasons: readonly Reading[]
    readonly linked: ActorReport['linked']
  }[]
}

/** ISO time or null. */
export function isoTime(ms: number): string | null {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null
}

/** Options of {@link buildJsonReport}. */
export interface JsonReportOptions {
  /** Benign actors listed (by distinct records); flagged actors are always all listed. @default 100 */
  readonly benignLimit?: number | undefined
}

/** Builds the `--json` document. */
export function buildJsonReport(
  summary: AnalysisSummary,
  actors: readonly ActorReport[],
  options: JsonReportOptions = {},
): AnalyzeJson {
  const limit = options.benignLimit ?? 100
  const counts = { harvester: 0, suspect: 0, benign: 0 }
  for (const a of actors) counts[a.verdict]++
  let benign = 0
  const listed = actors.filter((a) => a.verdict !== 'benign' || benign++ < limit)
  const seconds = summary.durationMs / 1000
  return {
    schema: ANALYZE_SCHEMA,
    summary: {
      files: summary.files,
      formats: summary.formats,
      bytes: summary.bytes,
      lines: summary.lines,
      malformed: summary.malformed,
      events: summary.events,
      decisions: summary.decisions,
      firstTime: isoTime(summary.firstTimeMs),
      lastTime: isoTime(summary.lastTimeMs),
      durationMs: Math.round(summary.durationMs),
      linesPerSecond: seconds > 0 ? Math.round(summary.lines / seconds) : 0,
      malformedSamples: summary.malformedSamples,
      issues: summary.issues,
      actors: counts,
    },
    actors: listed.map((a) => ({
      id: a.id,
      verdict: a.verdict,
      action: a.action,
      score: round(a.score),
      principals: a.principals,
      distinctRecords: a.distinctRecords,
      byField: a.byField,
      requests: a.requests,
      firstSeen: isoTime(a.firstSeenMs),
      lastSeen: isoTime(a.lastSeenMs),
      firstFlagged: isoTime(a.firstFlaggedMs),
      reasons: a.reasons.map((r) => ({
        ...r,
        value: round(r.value),
        contribution: round(r.contribution),
      })),
      linked: a.linked,
    })),
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000
}
