import {
  pickBrowser,
  ACCEPT_LANGUAGES,
  DAY_MS,
  HOUR_MS,
  randomUser,
  step,
  type Client,
  type Outcome,
  type Script,
  type SimActor,
  type SimContext,
} from './common.ts'

/**
 * A5, the account farm: 1,000+ freshly registered accounts over many IPs, each reading a few
 * dozen profiles a day (with the contact fields logged-in users see), so each identity stays
 * under any per-identity limit. Registrations are spread over the first day. Each account keeps
 * its IP (several accounts share one) and a browser user agent; a refused account is abandoned
 * and replaced by a new registration.
 */
export interface A5Options {
  /** Accounts alive at any time. @default 1000 */
  readonly accounts?: number
  /** Source IPs the accounts spread over. @default 250 */
  readonly ips?: number
  /** Profiles each account reads per day. @default 30 */
  readonly profilesPerDay?: number
}

export const A5_DEFAULTS: Required<A5Options> = { accounts: 1000, ips: 250, profilesPerDay: 30 }

/** Creates the account farm. */
export function createA5(ctx: SimContext, options: A5Options = {}): SimActor[] {
  const o = { ...A5_DEFAULTS, ...options }
  const rng = ctx.rng('A5')
  const pop = ctx.population
  let registered = 0
  const fresh = (slot: number): Client => ({
    ip: ctx.ip('a5', slot % o.ips),
    userAgent: pickBrowser(rng),
    acceptLanguage: rng.pick(ACCEPT_LANGUAGES),
    sid: '',
    apiKey: '',
    stack: 'go-http',
  })
  const clients = Array.from({ length: o.accounts }, (_, i) => fresh(i))
  const gapMs = DAY_MS / (o.profilesPerDay * o.accounts)
  function* script(): Script {
    let t = ctx.startMs + rng.int(0, HOUR_MS)
    for (;;) {
      t += rng.exp(gapMs)
      const slot = rng.int(0, o.accounts - 1)
      const c = clients[slot] as Client
      if (c.sid === '') {
        const username = `fm${ctx.seed % 1000}_${(registered++).toString(36)}`
        const reg: Outcome = yield step(
          t,
          c,
          'POST',
          '/api/register',
          '',
          JSON.stringify({ username, password: `pw-${username}` }),
        )
        if (reg.sid === '') {
          clients[slot] = fresh(slot + registered)
          continue
        }
        c.sid = reg.sid
        continue
      }
      const out = yield step(t, c, 'GET', `/api/users/${randomUser(rng, pop)}`)
      if (out.refused) clients[slot] = fresh(slot + registered)
    }
  }
  return [{ id: 'A5', profile: 'A5', kind: 'adversary', script: script() }]
}
