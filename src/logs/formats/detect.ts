/**
 * Picks a log format from the first lines of a file: the parser that accepts the most sample
 * lines wins (combined before common, since every combined line also starts like common); for
 * JSON lines, the preset whose address and time fields are present.
 */
import { HarvestGuardError } from '../../core/index.ts'
import { parseCombinedLine, parseCommonLine } from './clf.ts'
import {
  createJsonLineParser,
  JSON_PRESET_MAPPINGS,
  JSON_PRESETS,
  type JsonFieldMapping,
  type JsonPreset,
} from './jsonl.ts'
import { ParsedLine, type LineParser } from '../parsed-line.ts'

/** Formats `analyze` reads. `auto` detects one from the first lines. */
export const LOG_FORMATS = ['auto', 'combined', 'common', 'jsonl'] as const
/** One of {@link LOG_FORMATS}. */
export type LogFormat = (typeof LOG_FORMATS)[number]

/** A resolved format: its name (for reports) and its parser. */
export interface ResolvedFormat {
  /** `combined`, `common`, or `jsonl:<preset>` / `jsonl:custom`. */
  readonly name: string
  readonly parse: LineParser
}

/** Code raised when no format fits the first lines of a file. */
export const LOG_FORMAT_UNKNOWN = 'HG_LOG_FORMAT_UNKNOWN'

/** How a format is chosen: a name, a JSON preset or a custom JSON mapping. */
export interface FormatOptions {
  /** @default 'auto' */
  readonly format?: LogFormat | undefined
  /** JSON preset when `format` is `jsonl` and no `jsonFields` are given. */
  readonly jsonPreset?: JsonPreset | undefined
  /** Custom JSON mapping (wins over the preset). */
  readonly jsonFields?: JsonFieldMapping | undefined
}

/** Resolves `options` to a parser, detecting from `sample` (the first bytes of the input). */
export function resolveFormat(
  options: FormatOptions,
  sample: Uint8Array,
  file: string,
): ResolvedFormat {
  const format = options.format ?? 'auto'
  if (format === 'combined') return { name: 'combined', parse: parseCombinedLine }
  if (format === 'common') return { name: 'common', parse: parseCommonLine }
  if (options.jsonFields !== undefined)
    return { name: 'jsonl:custom', parse: createJsonLineParser(options.jsonFields) }
  if (format === 'jsonl' && options.jsonPreset !== undefined)
    return {
      name: `jsonl:${options.jsonPreset}`,
      parse: createJsonLineParser(JSON_PRESET_MAPPINGS[options.jsonPreset]),
    }
  const lines = sampleLines(sample, 50)
  if (lines.length === 0) return { name: 'combined', parse: parseCombinedLine } // empty input
  const jsonLike = lines.filter(([s]) => sample[s] === 123).length
  const candidates: ResolvedFormat[] =
    jsonLike * 2 >= lines.length
      ? JSON_PRESETS.map((p) => ({
          name: `jsonl:${p}`,
          parse: createJsonLineParser(JSON_PRESET_MAPPINGS[p]),
        }))
      : [
          { name: 'combined', parse: parseCombinedLine },
          { name: 'common', parse: parseCommonLine },
        ]
  if (format === 'jsonl' && jsonLike * 2 < lines.length)
    throw new HarvestGuardError(
      LOG_FORMAT_UNKNOWN,
      `${file}: --format jsonl, but the first lines are not JSON objects`,
    )
  const out = new ParsedLine()
  let best: ResolvedFormat | undefined
  let bestOk = 0
  for (const c of candidates) {
    let ok = 0
    for (const [s, e] of lines) if (c.parse(sample, s, e, out)) ok++
    if (ok > bestOk) {
      best = c
      bestOk = ok
    }
  }
  if (best === undefined || bestOk * 2 < lines.length)
    throw new HarvestGuardError(
      LOG_FORMAT_UNKNOWN,
      `${file}: cannot tell the log format from its first ${lines.length} lines (${bestOk} parse as ${best?.name ?? 'anything'}); pass --format`,
    )
  return best
}

function sampleLines(buf: Uint8Array, max: number): [number, number][] {
  const out: [number, number][] = []
  let s = 0
  while (out.length < max && s < buf.length) {
    let e = buf.indexOf(10, s)
    // the last sample line may be cut by the sample's end: leave it out
    if (e < 0) break
    const lineEnd = e > s && buf[e - 1] === 13 ? e - 1 : e
    if (lineEnd > s) out.push([s, lineEnd])
    s = e + 1
  }
  if (out.length === 0 && buf.length > 0) out.push([0, buf.length])
  return out
}
