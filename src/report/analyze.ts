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
  readonly batches: AsyncIterable<readonly Event[]>
  readonly engine: ObservingEngine
  /** Decisions are also recorded here, as the inline guard would. */
  readonly journal?: Journal | undefined
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
  for await (const batch of options.batches) {
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i] as Event
      engine.observe(e)
      collector.addEvent(e)
    }
    events += batch.length
    options.onBatch?.(events)
    if (options.signal?.aborted) break
  }
  if (journal !== undefined) await journal.flush()
  return { collector, events, decisions }
}
