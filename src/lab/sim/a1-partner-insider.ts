import {
  DAY_MS,
  MINUTE_MS,
  HOUR_MS,
  randomUser,
  step,
  type Client,
  type Script,
  type SimActor,
  type SimContext,
} from './common.ts'

/**
 * A1, the partner insider of the reference incident: one valid partner API key (partner 0's),
 * 1-3 source IPs, one customer lookup every 2-10 s around the clock for months, mostly of users
 * the partner never served, mixed with real lookups of its own customers. On refusal it backs
 * off (10 min, doubling to 6 h) and tries again: it has nothing to lose.
 */
export interface A1Options {
  /** Source IPs it rotates through (1-3 in the threat model). @default 2 */
  readonly ips?: number
  /** Shortest gap between lookups. @default 2000 */
  readonly minGapMs?: number
  /** Longest gap between lookups. @default 10000 */
  readonly maxGapMs?: number
  /** Share of lookups that are of the partner's own customers (cover traffic). @default 0.1 */
  readonly realShare?: number
  /** Partner whose key it uses. @default 0 */
  readonly partner?: number
}

export const A1_DEFAULTS: Required<A1Options> = {
  ips: 2,
  minGapMs: 2000,
  maxGapMs: 10_000,
  realShare: 0.1,
  partner: 0,
}

/** Creates the partner insider. */
export function createA1(ctx: SimContext, options: A1Options = {}): SimActor[] {
  const o = { ...A1_DEFAULTS, ...options }
  const rng = ctx.rng('A1')
  const pop = ctx.population
  const partner = pop.partner(o.partner)
  const ips = Array.from({ length: o.ips }, (_, i) => ctx.ip('a1', i))
  const client: Client = {
    ip: ips[0] as string,
    userAgent: 'Apache-HttpClient/4.5.10 (Java/1.8.0_231)',
    acceptLanguage: '',
    sid: '',
    apiKey: partner.apiKey,
    stack: 'java-httpclient',
  }
  function* script(): Script {
    let t = ctx.startMs + rng.int(0, HOUR_MS)
    let backoff = 10 * MINUTE_MS
    let own = 0
    for (;;) {
      // Rotates its egress IP once a day or so (cloud instances being recycled).
      if (rng.chance(1 / (DAY_MS / 6000))) client.ip = rng.pick(ips)
      const userId = rng.chance(o.realShare)
        ? pop.customerOf(o.partner, own++)
        : randomUser(rng, pop)
      const out = yield step(t, client, 'GET', `/partner/v1/customers/${userId}`)
      // It checks what it gets: a masked number (138****5678) is as useless as a refusal.
      const phone = (out.data as { phone?: unknown } | undefined)?.phone
      if (out.refused || (typeof phone === 'string' && phone.includes('*'))) {
        t += backoff
        backoff = Math.min(backoff * 2, 6 * HOUR_MS)
      } else {
        backoff = 10 * MINUTE_MS
        t += rng.int(o.minGapMs, o.maxGapMs)
      }
    }
  }
  return [{ id: 'A1', profile: 'A1', kind: 'adversary', script: script() }]
}
