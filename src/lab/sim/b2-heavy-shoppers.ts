import { MINUTE_MS, type SimActor, type SimContext } from './common.ts'
import { createB1 } from './b1-shoppers.ts'

/**
 * B2, heavy shoppers: the top 1% by activity. The B1 behaviour with a session every ~2 hours
 * of waking time and 30-80 pages each: hundreds of pages a day, still human rhythm.
 */
export interface B2Options {
  /** Heavy shoppers. @default 20 */
  readonly actors?: number
  /** Mean time between sessions at peak hours. @default 2 h */
  readonly meanGapMs?: number
}

export const B2_DEFAULTS: Required<B2Options> = { actors: 20, meanGapMs: 120 * MINUTE_MS }

/** Creates the heavy shoppers. */
export function createB2(ctx: SimContext, options: B2Options = {}): SimActor[] {
  const o = { ...B2_DEFAULTS, ...options }
  return createB1(ctx, {
    actors: o.actors,
    meanGapMs: Math.max(o.meanGapMs, 5 * MINUTE_MS),
    minPages: 30,
    maxPages: 80,
    ipPool: 'b2',
    profile: 'B2',
  })
}
