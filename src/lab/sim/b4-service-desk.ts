import {
  DAY_MS,
  MINUTE_MS,
  nextBusinessTime,
  step,
  type Client,
  type Script,
  type SimActor,
  type SimContext,
} from './common.ts'

/**
 * B4, a partner's service desk: legitimate lookups of its own merchants' customers through the
 * partner API (the one A1 abuses), 100-2,000 a day, business hours (9-18 China time, Monday to
 * Saturday), from the partner's office IP. Popular customers come back often (a squared-uniform
 * pick over the partner's customer list), so distinct customers grow slower than lookups.
 */
export interface B4Options {
  /** Partner desks, using partners 1..desks (partner 0 is A1's). @default 4 */
  readonly desks?: number
  /** Fewest lookups per day. @default 100 */
  readonly minPerDay?: number
  /** Most lookups per day. @default 2000 */
  readonly maxPerDay?: number
}

export const B4_DEFAULTS: Required<B4Options> = { desks: 4, minPerDay: 100, maxPerDay: 2000 }

/** Creates the service desks. */
export function createB4(ctx: SimContext, options: B4Options = {}): SimActor[] {
  const o = { ...B4_DEFAULTS, ...options }
  const pop = ctx.population
  const actors: SimActor[] = []
  const desks = Math.min(o.desks, pop.partners - 1)
  for (let d = 0; d < desks; d++) {
    const partner = 1 + d
    const id = `B4-${d}`
    const rng = ctx.rng(id)
    const customers = Math.max(1, Math.floor(pop.users / 10))
    const client: Client = {
      ip: ctx.ip('b4', d),
      userAgent: `PartnerCRM/${3 + d}.${d} okhttp/4.9.${d}`,
      acceptLanguage: '',
      sid: '',
      apiKey: pop.partner(partner).apiKey,
      stack: 'okhttp',
    }
    function* script(): Script {
      let t = nextBusinessTime(ctx.startMs)
      let day = -1
      let gapMs = 0
      for (;;) {
        const today = Math.floor(t / DAY_MS)
        if (today !== day) {
          day = today
          gapMs = (9 * 3_600_000) / rng.int(o.minPerDay, o.maxPerDay)
        }
        const u = rng.next()
        const userId = pop.customerOf(partner, Math.floor(customers * u * u))
        const out = yield step(t, client, 'GET', `/partner/v1/customers/${userId}`)
        t = nextBusinessTime(t + (out.refused ? 5 * MINUTE_MS : rng.exp(gapMs)))
      }
    }
    actors.push({ id, profile: 'B4', kind: 'benign', script: script() })
  }
  return actors
}
