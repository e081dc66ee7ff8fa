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
import { CompactDecoder } from './compact.ts'
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
}

/** Code raised when the parse worker fails. */
export const LOG_WORKER_FAILED = 'HG_LOG_WORKER_FAILED'

/** Opens access logs read by a worker thread; Events are rebuilt here. */
export function openParallelLogSource(options: ParallelLogSourceOptions): LogSource {
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

  async function* batches(): AsyncGenerator<Event[]> {
    if (started) throw new Error('a LogSource can be read once')
    started = true
    const files = await expandFiles(options.files)
    const control = new SharedArrayBuffer(8)
    const counters = new Int32Array(control)
    const { secret, algorithm, routes, signal, keyPattern, ...rest } = options
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
    }
    const worker = new Worker(new URL('./parse-worker.ts', import.meta.url), { workerData: data })
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
    const decoder = new CompactDecoder()
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
          if (exited || signal?.aborted === true) return
          await new Promise<void>((resolve) => (wake = resolve))
          wake = undefined
          continue
        }
        if (m.type === 'error') throw new HarvestGuardError(m.code ?? LOG_WORKER_FAILED, m.message)
        Object.assign(stats, m.stats)
        if (m.type === 'done') return
        Atomics.sub(counters, 0, 1)
        Atomics.notify(counters, 0)
        yield decoder.decode(m.batch)
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
      Atomics.store(counters, 1, 1)
      Atomics.notify(counters, 0)
      await worker.terminate()
    }
  }

  return {
    stats,
    batches,
    async *[Symbol.asyncIterator]() {
      for await (const batch of batches()) yield* batch
    },
  }
}
