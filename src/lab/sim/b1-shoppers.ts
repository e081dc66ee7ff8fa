import {
  ACCEPT_LANGUAGES,
  pickBrowser,
  HOUR_MS,
  browseSession,
  nextSessionStart,
  type Client,
  type Script,
  type SimActor,
  type SimContext,
} from './common.ts'

/**
 * B1, shoppers: anonymous people browsing home, search, items and comments, loading assets,
 * diurnal (China time), sessions of 3-60 pages. Each shopper has one home IP (its own /24 most
 * of the time) and one browser. A refused session ends; the shopper comes back later.
 */
export interface B1Options {
  /** Shoppers. @default 2000 */
  readonly actors?: number
  /** Mean time between a shopper's sessions at peak hours. @default 30 h */
  readonly meanGapMs?: number
  /** Pages per session, uniform in [minPages, maxPages]. @default 3 */
  readonly minPages?: number
  /** @default 60 */
  readonly maxPages?: number
  /** Pool name for IPs (B6 reuses this simulator behind one address). @default 'b1' */
  readonly ipPool?: string
  /** Fixed IP for every shopper (shared NAT), '' for one each. @default '' */
  readonly sharedIp?: string
  /** Profile reported on the scoreboard. @default 'B1' */
  readonly profile?: 'B1' | 'B2' | 'B6'
}

export const B1_DEFAULTS: Required<B1Options> = {
  actors: 2000,
  meanGapMs: 30 * HOUR_MS,
  minPages: 3,
  maxPages: 60,
  ipPool: 'b1',
  sharedIp: '',
  profile: 'B1',
}

/** Creates the shoppers. */
export function createB1(ctx: SimContext, options: B1Options = {}): SimActor[] {
  const o = { ...B1_DEFAULTS, ...options }
  const actors: SimActor[] = []
  for (let i = 0; i < o.actors; i++) {
    const id = `${o.profile}-${i}`
    const rng = ctx.rng(`${id}@${o.ipPool}`)
    const client: Client = {
      ip: o.sharedIp !== '' ? o.sharedIp : ctx.ip(o.ipPool, i),
      userAgent: pickBrowser(rng),
      acceptLanguage: rng.pick(ACCEPT_LANGUAGES),
      sid: '',
      apiKey: '',
      stack: 'browser',
    }
    function* script(): Script {
      let t = nextSessionStart(rng, ctx.startMs, o.meanGapMs * rng.range(0.5, 1.5))
      for (;;) {
        const end = yield* browseSession(rng, ctx.population, client, t, {
          pages: rng.int(o.minPages, o.maxPages),
        })
        t = nextSessionStart(rng, end < 0 ? t + HOUR_MS : end, o.meanGapMs)
      }
    }
    actors.push({ id, profile: o.profile, kind: 'benign', script: script() })
  }
  return actors
}
