/**
 * Access logs as Events: nginx/Apache `combined` and `common`, JSON lines (presets and custom
 * field mappings), plain, gzip, stdin, globs, many files merged by time, followed files.
 */
export { ByteInterner } from './byte-interner.ts'
export {
  createEventBuilder,
  latin1,
  networkOf,
  USER_FIELD_KINDS,
  type EventBuilder,
  type EventBuilderOptions,
  type UserFieldKind,
} from './event-builder.ts'
export { parseClfTime, parseCombinedLine, parseCommonLine } from './formats/clf.ts'
export {
  LOG_FORMAT_UNKNOWN,
  LOG_FORMATS,
  resolveFormat,
  type FormatOptions,
  type LogFormat,
  type ResolvedFormat,
} from './formats/detect.ts'
export {
  createJsonLineParser,
  JSON_PRESET_MAPPINGS,
  JSON_PRESETS,
  parseLogTime,
  type JsonFieldMapping,
  type JsonPreset,
} from './formats/jsonl.ts'
export { ParsedLine, type LineParser } from './parsed-line.ts'
export { LOG_GZIP_TRUNCATED, LOG_READ_FAILED, readInput, type InputProgress } from './read.ts'
export {
  expandFiles,
  LOG_ORDERS,
  openLogSource,
  type InputIssue,
  type LogOrder,
  type LogSource,
  type LogSourceOptions,
  type LogStats,
  type MalformedSample,
} from './source.ts'
export { CompactDecoder, CompactEncoder, type CompactBatch } from './compact.ts'
export {
  LOG_WORKER_FAILED,
  openParallelLogSource,
  type ParallelLogSource,
  type ParallelLogSourceOptions,
  WORKER_YOUNG_GENERATION_MB,
} from './parallel.ts'
export { eventSink, fileBatches, type LineSink } from './source.ts'
export type { LineTap } from './parse-worker.ts'
export { ScratchEvent } from './scratch-event.ts'
export { visitSink } from './source.ts'
