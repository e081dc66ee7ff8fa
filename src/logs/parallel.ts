/**
 * The two-thread log reader: a worker reads, parses and resolves lines (see `parse-worker.ts`),
 * the calling thread rebuilds Events from compact batches and runs the engine. On a 2-core
 * machine this splits the work roughly in half: parsing from bytes on one core, judging on the
 * other. Files are read one after another in the order given (use it for one file or for
 * rotated files named in time order; `openLogSource` merges overlapping files by time).
 */
import { Worker } from 'node:worker_threads'
import type { RouteSpec } from '../core/index.ts'
import { HarvestGuardError } from '../core/index.ts'
import type { Event } from '../core/index.ts'
import type { KeyerAlgorithm } from '../keyer/index.ts'
import { CompactDecoder, type CompactBatch } from './compact.ts'
import { ScratchEvent } from './scratch-event.ts'
import type { ParseWorkerData, ParseWorkerMessage } from './parse-worker.ts'
import { expandFiles, type LogSource, type LogSourceOptions, type LogStats } from './source.ts'

/** Options of {@link openParallelLogSource}: those of a LogSource plus what the worker rebuilds. */
export interface ParallelLogSourceOptions extends Omit<LogSourceOptions, 'keyer' | 'catalogue'> {
  /** The keyer secret: the worker digests with its own keyer. */
  readonly secret: string
  /** @default 'siphash-2-4' */
  readonly algorithm?: KeyerAlgorithm | undefined
  /** The route catalogue as configured (compiled again in the worker). */
  readonly routes: readonly RouteSpec[]
  /**
   * URL of a module exporting `createTap()` (a `LineTap`, see parse-worker.ts): the worker feeds it every
   * line, and its result is {@link ParallelLogSource.tapResult} once the source is read.
   */
  readonly tap?: string | undefined
  /**
   * Old-generation heap of the reader thread, in MiB: its caches are bounded, so a cap makes
   * its garbage collector work instead of letting the heap grow. @default 192
   */
  readonly memoryMb?: number | undefined
}

/** A LogSource read by a worker thread. */
export interface ParallelLogSource extends LogSource {
  /** The tap's result, once every line was read (undefined before, or without a tap). */
  readonly tapResult: unknown
}

/**
 * Young generation of analysis worker threads, in MiB. Unset, V8 sized it from the thread's heap
 * limit: 128 MiB of new space in each of analyze's two threads (measured with
 * v8.getHeapSpaceStatistics on the lab's log), most of it committed once the scavenger had grown
 * it, for objects that die young (batches, decisions' readings). At 32 the same output comes
 * out with the same CPU time, and peak RSS fell from 633 to 444 MB on 500k lines and from 870 to
 * 673 MB on 2M (bench/RESULTS.md, Logs).
 */
export const WORKER_YOUNG_GENERATION_MB = 32

/** Code raised when the parse worker fails. */
export const LOG_WORKER_FAILED = 'HG_LOG_WORKER_FAILED'

/** Opens access logs read by a worker thread; Events are rebuilt here. */
export function openParallelLogSource(options: ParallelLogSourceOptions): ParallelLogSource {
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
  let started = false
  let tapResult: unknown

  async function* compactBatches(): AsyncGenerator<CompactBatch> {
    if (started) throw new Error('a LogSource can be read once')
    started = true
    const files = await expandFiles(options.files)
    const control = new SharedArrayBuffer(8)
    const counters = new Int32Array(control)
    const { secret, algorithm, routes, signal, keyPattern, tap, memoryMb, ...rest } = options
    const data: ParseWorkerData = {
      files,
      options: rest,
      keyPattern:
        keyPattern === undefined
          ? undefined
          : { source: keyPattern.source, flags: keyPattern.flags },
      routes,
      secret,
      algorithm: algorithm ?? 'siphash-2-4',
      control,
      tap,
    }
    // the sibling module as this one is: .ts from the sources, .js from the built package
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
    const worker = new Worker(new URL(`./parse-worker${ext}`, import.meta.url), {
      workerData: data,
      resourceLimits: {
        maxOldGenerationSizeMb: memoryMb ?? 192,
        maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB,
      },
    })
    const queue: ParseWorkerMessage[] = []
    let wake: (() => void) | undefined
    let failure: Error | undefined
    let exited = false
    worker.on('message', (m: ParseWorkerMessage) => {
      queue.push(m)
      wake?.()
    })
    worker.on('error', (err) => {
      failure = err
      wake?.()
    })
    worker.on('exit', () => {
      exited = true
      wake?.()
    })
    const onAbort = (): void => {
      Atomics.store(counters, 1, 1)
      Atomics.notify(counters, 0)
      wake?.()
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      for (;;) {
        const m = queue.shift()
        if (m === undefined) {
          if (failure !== undefined)
            throw new HarvestGuardError(
              LOG_WORKER_FAILED,
              `log reader thread failed: ${failure.message}`,
              { cause: failure },
            )
          if (exited) return
          await new Promise<void>((resolve) => (wake = resolve))
          wake = undefined
          continue
        }
        if (m.type === 'error') throw new HarvestGuardError(m.code ?? LOG_WORKER_FAILED, m.message)
        // once aborted, batches still in flight are dropped (their lines were not judged) and
        // the worker's 'done' brings the tap's result
        const stopped = signal?.aborted === true
        if (m.type === 'done') {
          if (!stopped) Object.assign(stats, m.stats)
          tapResult = m.tap
          return
        }
        Atomics.sub(counters, 0, 1)
        Atomics.notify(counters, 0)
        if (stopped) continue
        Object.assign(stats, m.stats)
        yield m.batch
        // let timers and other messages in (an abort, a progress tick): while the reader
        // keeps the queue full, delivering its messages would otherwise never end
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
      Atomics.store(counters, 1, 1)
      Atomics.notify(counters, 0)
      await worker.terminate()
    }
  }

  async function* batches(): AsyncGenerator<Event[]> {
    const decoder = new CompactDecoder()
    for await (const b of compactBatches()) yield decoder.decode(b)
  }

  async function forEach(
    visit: (event: Event) => void,
    onChunk?: (() => void) | undefined,
  ): Promise<void> {
    const decoder = new CompactDecoder()
    const scratch = new ScratchEvent()
    for await (const b of compactBatches()) {
      decoder.each(b, scratch, visit)
      onChunk?.()
    }
  }

  return {
    stats,
    batches,
    forEach,
    get tapResult() {
      return tapResult
    },
    async *[Symbol.asyncIterator]() {
      for await (const batch of batches()) yield* batch
    },
  }
}
