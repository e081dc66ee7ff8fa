import { FIRST_USER_ID } from '../population.ts'
import {
  MINUTE_MS,
  HOUR_MS,
  step,
  type Client,
  type Script,
  type SimActor,
  type SimContext,
} from './common.ts'

/**
 * A2, the sprinter: one IP, a scripting-library user agent, 20-100 requests a second, walking
 * public profiles by sequential ID and pulling an item's comments every so often. Stops when it
 * has walked the whole ID space; on refusal it waits (1 min doubling to 1 h) and resumes.
 */
export interface A2Options {
  /** Requests per second while running. @default 50 */
  readonly ratePerSecond?: number
  /** Share of requests for comments instead of profiles. @default 0.1 */
  readonly commentShare?: number
  /** User agent. @default 'python-requests/2.31.0' */
  readonly userAgent?: string
}

export const A2_DEFAULTS: Required<A2Options> = {
  ratePerSecond: 50,
  commentShare: 0.1,
  userAgent: 'python-requests/2.31.0',
}

/** Creates the sprinter. */
export function createA2(ctx: SimContext, options: A2Options = {}): SimActor[] {
  const o = { ...A2_DEFAULTS, ...options }
  const rng = ctx.rng('A2')
  const pop = ctx.population
  const client: Client = {
    ip: ctx.ip('a2', 0),
    userAgent: o.userAgent,
    acceptLanguage: '',
    sid: '',
    apiKey: '',
    stack: 'python-requests',
  }
  const gapMs = 1000 / o.ratePerSecond
  function* script(): Script {
    let t = ctx.startMs + rng.int(0, HOUR_MS)
    let backoff = MINUTE_MS
    let next = FIRST_USER_ID
    let item = 0
    while (next <= pop.lastUserId) {
      const comments = rng.chance(o.commentShare)
      const path = comments
        ? `/api/items/${pop.lastItemId - (item % pop.items)}/comments?page=1`
        : `/api/users/${next}`
      const out = yield step(t, client, 'GET', path)
      if (out.refused) {
        t += backoff
        backoff = Math.min(backoff * 2, HOUR_MS)
        continue
      }
      backoff = MINUTE_MS
      if (comments) item++
      else next++
      t += gapMs * rng.range(0.5, 1.5)
    }
  }
  return [{ id: 'A2', profile: 'A2', kind: 'adversary', script: script() }]
}
