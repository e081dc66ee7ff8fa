import { FIRST_ITEM_ID } from '../population.ts'
import { DAY_MS, step, type Client, type Script, type SimActor, type SimContext } from './common.ts'

/** The verified crawler's networks, allowlisted in examples/shop/harvestguard.yaml. */
export const CRAWLER_NETWORKS = ['66.249.66.0/24', '127.66.249.0/24'] as const

/**
 * B5, a verified search-engine crawler from an allowlisted network: fast and tireless, but only
 * public pages (robots.txt keeps it off /api and /partner). It fetches robots.txt daily, the
 * home page, and walks item pages in ID order: exactly what would look like harvesting if it
 * were not verified.
 */
export interface B5Options {
  /** Crawler instances (addresses in the crawler network). @default 2 */
  readonly actors?: number
  /** Mean gap between requests per instance. @default 10000 */
  readonly gapMs?: number
}

export const B5_DEFAULTS: Required<B5Options> = { actors: 2, gapMs: 10_000 }

/** Creates the crawlers. */
export function createB5(ctx: SimContext, options: B5Options = {}): SimActor[] {
  const o = { ...B5_DEFAULTS, ...options }
  const pop = ctx.population
  const actors: SimActor[] = []
  for (let i = 0; i < o.actors; i++) {
    const id = `B5-${i}`
    const rng = ctx.rng(id)
    const client: Client = {
      ip: ctx.ip('crawler', i),
      userAgent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      acceptLanguage: '',
      sid: '',
      apiKey: '',
      stack: 'googlebot',
    }
    function* script(): Script {
      let t = ctx.startMs + rng.int(0, 600_000)
      let next = i
      let lastRobots = -Infinity
      for (;;) {
        if (t - lastRobots > DAY_MS) {
          lastRobots = t
          yield step(t, client, 'GET', '/robots.txt')
          t += rng.exp(o.gapMs)
          yield step(t, client, 'GET', '/')
        } else {
          yield step(t, client, 'GET', `/item/${FIRST_ITEM_ID + (next % pop.items)}`)
          next += o.actors
        }
        t += rng.exp(o.gapMs)
      }
    }
    actors.push({ id, profile: 'B5', kind: 'benign', script: script() })
  }
  return actors
}
