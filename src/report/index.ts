/**
 * Forensic reports over analysed events: collection per actor, the `--json` document, the
 * terminal summary and the self-contained HTML page.
 */
export {
  analyzeEvents,
  type AnalyzeEventsOptions,
  type AnalyzeEventsResult,
  type ObservingEngine,
} from './analyze.ts'
export {
  ReportCollector,
  VERDICTS,
  type ActorReport,
  type CollectorOptions,
  type Verdict,
} from './collector.ts'
export { renderHtmlReport, type HtmlReportOptions } from './html.ts'
export {
  ANALYZE_SCHEMA,
  buildJsonReport,
  isoTime,
  type AnalysisSummary,
  type AnalyzeJson,
  type JsonReportOptions,
} from './json.ts'
export { EXACT_LIMIT, RecordCounter } from './record-counter.ts'
export { formatTerminalReport } from './terminal.ts'
export { IdentityTable, type Identity, type IdentityWire } from './identities.ts'
export { IDENTITY_TAP_URL } from './identity-tap.ts'
export type { RecordCounterWire } from './record-counter.ts'
