/**
 * The analysis loop shared by `analyze` and its tests: every event goes through the engine
 * (time from the event), decisions go to the report collector and, optionally, the journal.
 * One `await` per batch; the per-event work is synchronous.
 */
import type { Decision } from '../core/index.ts'
import type { Event } from '../core/index.ts'
import type { Journal } from '../core/index.ts'
import { ReportCollector, type CollectorOptions } from './collector.ts'

/** The part of the engine an analysis needs. */
export interface ObservingEngine {
  observe(event: Event): unknown
  onDecision(listener: (decision: Decision) => void): unknown
}

/** Options of {@link analyzeEvents}. */
export interface AnalyzeEventsOptions extends CollectorOptions {
  /** The events in batches; or `forEach` (a log source's streaming visit, preferred). */
  readonly batches?: AsyncIterable<readonly Event[]> | undefined
  /** Visits every event (possibly one reused object), then calls `onChunk` now and then. */
  readonly forEach?:
    ((visit: (event: Event) => void, onChunk?: () => void) => Promise<void>) | undefined
  readonly engine: ObservingEngine
  /** Decisions are also recorded here, as the inline guard would. */
  readonly journal?: Journal | undefined
  /**
   * Account events into the report's identities here. False when the log reader thread does
   * it (`identity-tap.ts`); the caller then hands its table to the collector. @default true
   */
  readonly countEvents?: boolean | undefined
  /** Called after each batch (progress display). */
  readonly onBatch?: ((events: number) => void) | undefined
  readonly signal?: AbortSignal | undefined
}

/** Result of {@link analyzeEvents}. */
export interface AnalyzeEventsResult {
  readonly collector: ReportCollector
  readonly events: number
  readonly decisions: number
}

/** Runs every event through the engine and collects the report. */
export async function analyzeEvents(options: AnalyzeEventsOptions): Promise<AnalyzeEventsResult> {
  const collector = new ReportCollector(options)
  const { engine, journal } = options
  let decisions = 0
  engine.onDecision((d) => {
    decisions++
    collector.addDecision(d)
    journal?.recordDecision(d)
  })
  let events = 0
  const count = options.countEvents ?? true
  if (options.forEach !== undefined) {
    // the abort signal stops the source itself (it is passed to the reader)
    await options.forEach(
      count
        ? (e) => {
            engine.observe(e)
            collector.addEvent(e)
            events++
          }
        : (e) => {
            engine.observe(e)
            events++
          },
      () => options.onBatch?.(events),
    )
  } else if (options.batches !== undefined) {
    for await (const batch of options.batches) {
      for (let i = 0; i < batch.length; i++) {
        const e = batch[i] as Event
        engine.observe(e)
        if (count) collector.addEvent(e)
      }
      events += batch.length
      options.onBatch?.(events)
      if (options.signal?.aborted) break
    }
  }
  if (journal !== undefined) await journal.flush()
  return { collector, events, decisions }
}
