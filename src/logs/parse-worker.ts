/**
 * Worker-thread entry of the two-thread reader (see `parallel.ts`): reads and parses the files,
 * resolves principals, routes and exposures, and posts compact batches to the main thread, which
 * only rebuilds Events and judges them. Flow control: at most `MAX_INFLIGHT` batches are
 * unconsumed at a time, so a fast reader cannot fill memory ahead of a slow engine.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { compileCatalogue, type RouteSpec } from '../core/index.ts'
import type { Exposure, Principal } from '../core/index.ts'
import { createKeyer, type KeyerAlgorithm } from '../keyer/index.ts'
import { CompactEncoder, transferList, type CompactBatch } from './compact.ts'
import { createEventBuilder } from './event-builder.ts'
import type { LogSourceOptions, LogStats } from './source.ts'
import { fileBatches, type LineSink } from './source.ts'
import type { InputProgress } from './read.ts'

/** What the main thread passes to the worker (structured-clonable). */
export interface ParseWorkerData {
  readonly files: readonly string[]
  readonly options: Omit<
    LogSourceOptions,
    'keyer' | 'catalogue' | 'signal' | 'keyPattern' | 'files'
  >
  readonly keyPattern: { source: string; flags: string } | undefined
  readonly routes: readonly RouteSpec[]
  readonly secret: string
  readonly algorithm: KeyerAlgorithm
  /** Int32 counters: [0] batches in flight, [1] stop requested. */
  readonly control: SharedArrayBuffer
  /** URL of a module whose `createTap()` returns a {@link LineTap} fed every line here. */
  readonly tap: string | undefined
}

/**
 * Work done next to the parser on every line, with a result handed over at the end (the
 * report's per-identity totals: see src/report/identity-tap.ts).
 */
export interface LineTap {
  add(principals: readonly Principal[], timeMs: number, exposures: readonly Exposure[]): void
  finish(): { value: unknown; transfer: ArrayBuffer[] }
}

/** Messages from the worker. */
export type ParseWorkerMessage =
  | { readonly type: 'batch'; readonly batch: CompactBatch; readonly stats: LogStats }
  | { readonly type: 'done'; readonly stats: LogStats; readonly tap: unknown }
  | { readonly type: 'error'; readonly message: string; readonly code: string | undefined }

const MAX_INFLIGHT = 3

async function main(): Promise<void> {
  const data = workerData as ParseWorkerData
  const port = parentPort
  if (port === null) return
  const control = new Int32Array(data.control)
  const keyer = createKeyer(data.secret, { algorithm: data.algorithm })
  const catalogue = compileCatalogue(data.routes)
  const keyPattern =
    data.keyPattern === undefined
      ? undefined
      : new RegExp(data.keyPattern.source, data.keyPattern.flags)
  const options: LogSourceOptions = {
    ...data.options,
    files: data.files,
    keyer,
    catalogue,
    keyPattern,
  }
  const builder = createEventBuilder(options)
  const encoder = new CompactEncoder()
  const tap =
    data.tap === undefined
      ? undefined
      : ((await import(data.tap)) as { createTap(): LineTap }).createTap()
  const sink: LineSink<CompactBatch> = {
    add(line) {
      const r = builder.resolve(line)
      encoder.add(line, r)
      tap?.add(r.principals, line.timeMs, r.exposures)
      return line.timeMs
    },
    take() {
      return encoder.length === 0 ? undefined : encoder.take()
    },
  }
  const stats: LogStats = {
    files: [...data.files],
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
  const progresses = data.files.map((): InputProgress => ({
    bytesRead: 0,
    totalBytes: 0,
    error: undefined,
  }))
  const sync = (): void => {
    let r = 0
    let t = 0
    for (const p of progresses) {
      r += p.bytesRead
      t += p.totalBytes
    }
    stats.bytesRead = r
    stats.totalBytes = t
  }
  files: for (const [i, file] of data.files.entries()) {
    const it = fileBatches(
      file,
      progresses[i] as InputProgress,
      sink,
      options,
      stats,
      options.malformedSamples ?? 5,
      sync,
    )
    for await (const batch of it) {
      if (Atomics.load(control, 1) !== 0) break files
      // wait while the main thread is behind (blocking a worker thread is what it is for)
      while (Atomics.load(control, 0) >= MAX_INFLIGHT) {
        Atomics.wait(control, 0, Atomics.load(control, 0), 100)
        if (Atomics.load(control, 1) !== 0) break files
      }
      Atomics.add(control, 0, 1)
      const msg: ParseWorkerMessage = {
        type: 'batch',
        batch,
        stats: { ...stats, samples: [...stats.samples], issues: [...stats.issues] },
      }
      // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a worker port, not a window
      port.postMessage(msg, transferList(batch))
    }
  }
  const result = tap?.finish()
  const done: ParseWorkerMessage = { type: 'done', stats, tap: result?.value }
  // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a worker port, not a window
  port.postMessage(done, result?.transfer ?? [])
}

main().catch((err: unknown) => {
  const e = err as Error & { code?: string }
  const msg: ParseWorkerMessage = { type: 'error', message: e.message, code: e.code }
  parentPort?.postMessage(msg, [])
})
