import {
  pickBrowser,
  ACCEPT_LANGUAGES,
  MINUTE_MS,
  randomItem,
  randomUser,
  step,
  type Client,
  type Script,
  type SimActor,
  type SimContext,
} from './common.ts'

/**
 * A3, the swarm: one harvester behind a proxy pool of 300-1,000 IPs (spread over many /24s), each
 * IP with a browser user agent and a few requests a minute, fetching profiles and comments by
 * random ID, never loading assets. Modelled as one actor that interleaves its IPs; it stops once
 * it has made `budgetRequests` successful requests. A refused IP is retired for an hour.
 */
export interface A3Options {
  /** Proxy IPs. @default 500 */
  readonly ips?: number
  /** IPs per /24 network in the pool (residential pools: 1-4). @default 2 */
  readonly ipsPerNet?: number
  /** Mean requests per IP per minute. @default 2 */
  readonly perIpPerMinute?: number
  /** Share of requests for comments instead of profiles. @default 0.4 */
  readonly commentShare?: number
  /** Successful requests after which it is done. @default 400000 */
  readonly budgetRequests?: number
}

export const A3_DEFAULTS: Required<A3Options> = {
  ips: 500,
  ipsPerNet: 2,
  perIpPerMinute: 2,
  commentShare: 0.4,
  budgetRequests: 400_000,
}

/** Creates the swarm. */
export function createA3(ctx: SimContext, options: A3Options = {}): SimActor[] {
  const o = { ...A3_DEFAULTS, ...options }
  const rng = ctx.rng('A3')
  const pop = ctx.population
  const clients: Client[] = Array.from({ length: o.ips }, (_, i) => ({
    ip: ctx.ip('a3', i, o.ipsPerNet),
    userAgent: pickBrowser(rng),
    acceptLanguage: rng.chance(0.7) ? rng.pick(ACCEPT_LANGUAGES) : '',
    sid: '',
    apiKey: '',
    stack: 'python-aiohttp',
  }))
  const retiredUntil = new Float64Array(o.ips)
  const gapMs = MINUTE_MS / (o.perIpPerMinute * o.ips)
  function* script(): Script {
    let t = ctx.startMs + rng.int(0, 3_600_000)
    let done = 0
    while (done < o.budgetRequests) {
      t += rng.exp(gapMs)
      const i = rng.int(0, o.ips - 1)
      if ((retiredUntil[i] as number) > t) continue
      const path = rng.chance(o.commentShare)
        ? `/api/items/${randomItem(rng, pop)}/comments?page=${rng.int(1, 3)}`
        : `/api/users/${randomUser(rng, pop)}`
      const out = yield step(t, clients[i] as Client, 'GET', path)
      if (out.refused) retiredUntil[i] = t + 60 * MINUTE_MS
      else done++
    }
  }
  return [{ id: 'A3', profile: 'A3', kind: 'adversary', script: script() }]
}
