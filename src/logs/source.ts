/**
 * Access logs as a stream of Events: files, globs, gzip, stdin, followed files; several files
 * merged in time order (or streamed one after another when already ordered). A {@link LogSource}
 * is an `AsyncIterable<Event>`; its `batches()` yields the same Events a chunk at a time, which
 * is what `analyze` uses to keep one `await` per ~10k lines rather than one per line.
 */
import { glob } from 'node:fs/promises'
import type { HarvestGuardError } from '../core/index.ts'
import type { Event } from '../core/index.ts'
import { resolveFormat, type FormatOptions, type ResolvedFormat } from './formats/detect.ts'
import { createEventBuilder, type EventBuilder, type EventBuilderOptions } from './event-builder.ts'
import { ParsedLine } from './parsed-line.ts'
import { readInput, type InputProgress } from './read.ts'
import { ScratchEvent } from './scratch-event.ts'

/** Orders of reading several files. */
export const LOG_ORDERS = ['merge', 'sequential'] as const
/** One of {@link LOG_ORDERS}. */
export type LogOrder = (typeof LOG_ORDERS)[number]

/** Options of {@link openLogSource}. */
export interface LogSourceOptions extends FormatOptions, EventBuilderOptions {
  /** Files, globs (`logs/access.log*`) or `-` for standard input. */
  readonly files: readonly string[]
  readonly signal?: AbortSignal | undefined
  /** Tail the files as they grow, across rotation. @default false */
  readonly follow?: boolean | undefined
  /**
   * `merge`: interleave all files by time (one k-way merge). `sequential`: read the files one
   * after another, ordered by their first timestamp (rotated logs). @default 'merge'
   */
  readonly order?: LogOrder | undefined
  /** Malformed lines kept as samples. @default 5 */
  readonly malformedSamples?: number | undefined
  /** Polling interval when following. @default 250 */
  readonly pollMs?: number | undefined
}

/** A malformed line kept as a sample. */
export interface MalformedSample {
  readonly file: string
  readonly line: number
  /** The line, cut to 200 characters. */
  readonly text: string
}

/** A problem with a whole input (it could not be opened, its gzip stream broke). */
export interface InputIssue {
  readonly file: string
  readonly code: string
  readonly message: string
  /** Byte position where the input broke. */
  readonly position: number
  /** Lines read from the file before it broke. */
  readonly line: number
}

/** Running totals of a log source; updated while it is read. */
export interface LogStats {
  files: string[]
  formats: Record<string, string>
  /** Bytes consumed so far (compressed bytes for gzip) and the total expected. */
  bytesRead: number
  totalBytes: number
  lines: number
  malformed: number
  events: number
  samples: MalformedSample[]
  issues: InputIssue[]
  /** Earliest and latest event time, NaN before the first event. */
  firstTimeMs: number
  lastTimeMs: number
}

/** Events of one or more access logs. */
export interface LogSource extends AsyncIterable<Event> {
  readonly stats: LogStats
  /** The Events in batches (each batch in time order when merging). */
  batches(): AsyncIterable<Event[]>
  /**
   * Calls `visit` for every Event in order, then `onChunk` after each chunk read (progress,
   * abort checks). The Event passed may be one reused object, valid only during the call: one
   * file (or one worker thread's output) is streamed without an Event allocated per line.
   * A source is read once: either this or `batches()`.
   */
  forEach(visit: (event: Event) => void, onChunk?: (() => void) | undefined): Promise<void>
}

/** Expands globs (files are kept as given when they have no wildcard) and drops duplicates. */
export async function expandFiles(patterns: readonly string[]): Promise<string[]> {
  const out: string[] = []
  for (const p of patterns) {
    if (p !== '-' && /[*?[{]/.test(p)) {
      const found: string[] = []
      for await (const f of glob(p)) found.push(f)
      found.sort()
      out.push(...found)
    } else out.push(p)
  }
  return [...new Set(out)]
}

/**
 * Opens access logs as an Event stream.
 * @example
 * const source = openLogSource({ files: ['access.log.gz'], keyer, catalogue, signal })
 * for await (const event of source) engine.observe(event)
 * console.log(source.stats.malformed)
 */
export function openLogSource(options: LogSourceOptions): LogSource {
  const stats: LogStats = {
    files: [],
    formats: {},
    bytesRead: 0,
    totalBytes: 0,
    lines: 0,
    malformed: 0,
    events: 0,
    samples: [],
    issues: [],
    firstTimeMs: NaN,
    lastTimeMs: NaN,
  }
  const builder = createEventBuilder(options)
  const maxSamples = options.malformedSamples ?? 5
  let started = false

  async function start(): Promise<{ files: string[]; progresses: InputProgress[] }> {
    if (started) throw new Error('a LogSource can be read once')
    started = true
    const files = await expandFiles(options.files)
    stats.files = files
    const progresses = files.map((): InputProgress => ({
      bytesRead: 0,
      totalBytes: 0,
      error: undefined,
    }))
    return { files, progresses }
  }

  function syncOf(progresses: readonly InputProgress[]): () => void {
    return () => {
      let r = 0
      let t = 0
      for (const p of progresses) {
        r += p.bytesRead
        t += p.totalBytes
      }
      stats.bytesRead = r
      stats.totalBytes = t
    }
  }

  async function* eventBatches(
    files: readonly string[],
    progresses: readonly InputProgress[],
  ): AsyncGenerator<Event[]> {
    const sync = syncOf(progresses)
    const perFile = files.map((f, i) =>
      fileBatches(
        f,
        progresses[i] as InputProgress,
        eventSink(builder),
        options,
        stats,
        maxSamples,
        sync,
      ),
    )
    if (files.length === 1 || (options.order ?? 'merge') === 'sequential') {
      const order = files.length === 1 ? perFile : await orderByFirstTime(perFile)
      for (const it of order) yield* it
    } else {
      yield* mergeByTime(perFile)
    }
  }

  async function* batches(): AsyncGenerator<Event[]> {
    const { files, progresses } = await start()
    yield* eventBatches(files, progresses)
  }

  async function forEach(
    visit: (event: Event) => void,
    onChunk?: (() => void) | undefined,
  ): Promise<void> {
    const { files, progresses } = await start()
    if (files.length !== 1) {
      // several files: merged by time, or ordered by their first line; both look ahead, so
      // they build Events
      for await (const batch of eventBatches(files, progresses)) {
        for (let i = 0; i < batch.length; i++) visit(batch[i] as Event)
        onChunk?.()
      }
      return
    }
    const it = fileBatches(
      files[0] as string,
      progresses[0] as InputProgress,
      visitSink(builder, visit),
      options,
      stats,
      maxSamples,
      syncOf(progresses),
    )
    for await (const lines of it) if (lines > 0) onChunk?.()
  }

  return {
    stats,
    batches,
    forEach,
    async *[Symbol.asyncIterator]() {
      for await (const batch of batches()) yield* batch
    },
  }
}

/** Where parsed lines go: built into Events, or encoded for another thread. */
export interface LineSink<B> {
  /** Takes one parsed line; returns its time. */
  add(line: ParsedLine): number
  /** The batch collected so far, undefined when empty; starts a new one. */
  take(): B | undefined
}

/** A sink that builds Events. */
export function eventSink(builder: EventBuilder): LineSink<Event[]> {
  let out: Event[] = []
  return {
    add(line) {
      const e = builder.build(line)
      out.push(e)
      return e.timeMs
    },
    take() {
      if (out.length === 0) return undefined
      const b = out
      out = []
      return b
    },
  }
}

/**
 * A sink that hands each line's Event to `visit` at once, in one reused {@link ScratchEvent};
 * its batches are line counts (one per chunk read).
 */
export function visitSink(builder: EventBuilder, visit: (event: Event) => void): LineSink<number> {
  const scratch = new ScratchEvent()
  let n = 0
  return {
    add(line) {
      builder.fill(line, scratch)
      n++
      visit(scratch)
      return line.timeMs
    },
    take() {
      if (n === 0) return undefined
      const b = n
      n = 0
      return b
    },
  }
}

/** Reads one file into batches of the sink's kind, counting into `stats`. */
export async function* fileBatches<B>(
  file: string,
  progress: InputProgress,
  sink: LineSink<B>,
  options: LogSourceOptions,
  stats: LogStats,
  maxSamples: number,
  sync: () => void,
): AsyncGenerator<B> {
  const line = new ParsedLine()
  let format: ResolvedFormat | undefined
  let carry: Buffer | undefined
  let lineNo = 0
  let pending: Buffer[] = [] // chunks held until the format is detected
  let pendingBytes = 0

  const onLine = (buf: Buffer, s: number, e: number): void => {
    lineNo++
    if (e > s && buf[e - 1] === 13) e-- // CRLF
    if (e === s) return // blank lines are not records
    stats.lines++
    if ((format as ResolvedFormat).parse(buf, s, e, line)) {
      const t = sink.add(line)
      stats.events++
      if (!(t >= stats.firstTimeMs)) stats.firstTimeMs = t
      if (!(t <= stats.lastTimeMs)) stats.lastTimeMs = t
    } else {
      stats.malformed++
      if (stats.samples.length < maxSamples) {
        stats.samples.push({
          file,
          line: lineNo,
          text: buf.toString('latin1', s, Math.min(e, s + 200)),
        })
      }
    }
  }

  const cut = (chunk: Buffer): void => {
    let start = 0
    if (carry !== undefined) {
      const nl = chunk.indexOf(10)
      if (nl < 0) {
        carry = Buffer.concat([carry, chunk])
        return
      }
      const joined = Buffer.concat([carry, chunk.subarray(0, nl)])
      carry = undefined
      onLine(joined, 0, joined.length)
      start = nl + 1
    }
    for (;;) {
      const nl = chunk.indexOf(10, start)
      if (nl < 0) break
      onLine(chunk, start, nl)
      start = nl + 1
    }
    // copy: the chunk's buffer is reused by the reader
    if (start < chunk.length) carry = Buffer.from(chunk.subarray(start))
  }

  // an unknown format is an operator matter for that file only: report it, go on with the rest
  const detect = (sample: Buffer): ResolvedFormat | undefined => {
    try {
      const f = resolveFormat(options, sample, file)
      stats.formats[file] = f.name
      return f
    } catch (err) {
      const e = err as HarvestGuardError
      stats.issues.push({ file, code: e.code, message: e.message, position: 0, line: 0 })
      return undefined
    }
  }

  for await (const chunk of readInput(file, progress, options)) {
    if (format === undefined) {
      pending.push(Buffer.from(chunk))
      pendingBytes += chunk.length
      // detect from 64 KiB, or from less when the input has no more for now (a short read: a
      // small or followed file)
      if (pendingBytes < 64 * 1024 && chunk.length >= 64 * 1024) continue
      format = detect(Buffer.concat(pending))
      if (format === undefined) return
    }
    if (pending.length > 0) {
      for (const p of pending) cut(p)
      pending = []
    } else cut(chunk)
    sync()
    const out = sink.take()
    if (out !== undefined) yield out
  }
  if (format === undefined && pending.length > 0) {
    format = detect(Buffer.concat(pending))
    if (format === undefined) return
    for (const p of pending) cut(p)
    pending = []
  }
  if (carry !== undefined && format !== undefined) {
    // last line without a trailing newline (or cut by a truncated gzip)
    const c = carry
    carry = undefined
    onLine(c, 0, c.length)
  }
  const rest = sink.take()
  if (rest !== undefined) yield rest
  sync()
  if (progress.error !== undefined) {
    stats.issues.push({ file, ...progress.error, line: lineNo })
  }
}

/** Reads each file's first batch, then yields the files oldest first. */
async function orderByFirstTime(
  its: AsyncGenerator<Event[]>[],
): Promise<AsyncGenerator<Event[]>[]> {
  const heads = await Promise.all(
    its.map(async (it, i) => {
      const first = await it.next()
      return { i, it, first: first.done ? undefined : first.value }
    }),
  )
  heads.sort(
    (a, b) => (a.first?.[0]?.timeMs ?? Infinity) - (b.first?.[0]?.timeMs ?? Infinity) || a.i - b.i,
  )
  return heads.map(({ it, first }) =>
    (async function* () {
      if (first !== undefined) yield first
      yield* it
    })(),
  )
}

/**
 * K-way merge of per-file batch streams by event time. Each file is assumed in time order
 * (access logs are, to the second); events of equal time keep file order.
 */
async function* mergeByTime(its: AsyncGenerator<Event[]>[]): AsyncGenerator<Event[]> {
  interface Head {
    it: AsyncGenerator<Event[]>
    batch: Event[]
    pos: number
  }
  const heads: Head[] = []
  for (const it of its) {
    const r = await it.next()
    if (!r.done) heads.push({ it, batch: r.value, pos: 0 })
  }
  let out: Event[] = []
  while (heads.length > 0) {
    // the head whose next event is oldest
    let best = 0
    let bestT = Infinity
    for (let h = 0; h < heads.length; h++) {
      const head = heads[h] as Head
      const t = (head.batch[head.pos] as Event).timeMs
      if (t < bestT) {
        bestT = t
        best = h
      }
    }
    const head = heads[best] as Head
    // take every event of this head up to the next-oldest head's time in one run
    let limit = Infinity
    for (let h = 0; h < heads.length; h++) {
      if (h === best) continue
      const o = heads[h] as Head
      const t = (o.batch[o.pos] as Event).timeMs
      if (t < limit) limit = t
    }
    const batch = head.batch
    let pos = head.pos
    while (pos < batch.length && (batch[pos] as Event).timeMs <= limit)
      out.push(batch[pos++] as Event)
    head.pos = pos
    if (pos >= batch.length) {
      const r = await head.it.next()
      if (r.done) heads.splice(best, 1)
      else {
        head.batch = r.value
        head.pos = 0
      }
    }
    if (out.length >= 8192) {
      yield out
      out = []
    }
  }
  if (out.length > 0) yield out
}
