/**
 * Worker-thread entry of `analyze --memory N`: runs {@link runAnalyze} in a thread whose V8
 * old generation is capped, so that the garbage collector works to stay within the budget
 * instead of letting the heap grow with garbage (without a cap V8 grows the heap to several
 * times the live data before collecting, which is what took a 10-million-line run past 1 GB).
 * The CLI thread only relays progress, Ctrl-C and the terminal summary.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { runAnalyze, type AnalyzeOptions } from './analyze.ts'

/** What the CLI thread passes (structured-clonable options). */
export interface AnalyzeRunnerData {
  readonly files: readonly string[]
  readonly options: Omit<AnalyzeOptions, 'signal' | 'progressOut'>
}

/** Messages to the CLI thread. */
export type AnalyzeRunnerMessage =
  | { readonly type: 'progress'; readonly text: string }
  | { readonly type: 'result'; readonly terminal: string }
  | { readonly type: 'error'; readonly code: string | undefined; readonly message: string }

const port = parentPort
if (port !== null) {
  const data = workerData as AnalyzeRunnerData
  const controller = new AbortController()
  port.on('message', (m: { type: string }) => {
    if (m.type === 'abort') controller.abort()
  })
  const post = (m: AnalyzeRunnerMessage): void => {
    // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a worker port, not a window
    port.postMessage(m)
  }
  runAnalyze(data.files, {
    ...data.options,
    signal: controller.signal,
    progressOut: (text) => post({ type: 'progress', text }),
  })
    .then((r) => post({ type: 'result', terminal: r.terminal }))
    .catch((err: unknown) => {
      const e = err as Error & { code?: string }
      post({ type: 'error', code: e.code, message: e.message })
    })
    .finally(() => port.close())
}
