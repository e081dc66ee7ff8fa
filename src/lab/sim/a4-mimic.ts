import { COMMENTS_PER_PAGE } from '../population.ts'
import {
  BROWSER_AGENTS,
  HOUR_MS,
  PAGE_ASSETS_OF,
  randomItem,
  step,
  type Client,
  type Outcome,
  type Script,
  type SimActor,
  type SimContext,
} from './common.ts'

/**
 * A4, the mimic: a headless browser driving 10-50 logged-in accounts with human-like think times.
 * It loads page assets and follows links: item page, its comments, then each commenter's profile
 * (with the phone number logged-in users see). Accounts take turns in work shifts; each account
 * keeps one IP from a small residential pool and one browser fingerprint. On refusal an account
 * is rested for a day.
 */
export interface A4Options {
  /** Logged-in accounts it drives (bought or stolen: real population accounts). @default 20 */
  readonly accounts?: number
  /** IPs in its proxy pool. @default 10 */
  readonly ips?: number
  /** Mean think time between requests. @default 8000 */
  readonly thinkMs?: number
  /** Length of one account's shift before the next account takes over. @default 2 h */
  readonly shiftMs?: number
}

export const A4_DEFAULTS: Required<A4Options> = {
  accounts: 20,
  ips: 10,
  thinkMs: 8000,
  shiftMs: 2 * HOUR_MS,
}

/** Creates the mimic. */
export function createA4(ctx: SimContext, options: A4Options = {}): SimActor[] {
  const o = { ...A4_DEFAULTS, ...options }
  const rng = ctx.rng('A4')
  const pop = ctx.population
  // A stable walk over population accounts far from the ones benign simulators use.
  const accounts = Array.from({ length: o.accounts }, (_, i) => pop.lastUserId - 7 * i)
  const clients: Client[] = accounts.map((_, i) => ({
    ip: ctx.ip('a4', i % o.ips),
    userAgent: BROWSER_AGENTS[0] as string,
    acceptLanguage: 'zh-CN,zh;q=0.9',
    sid: '',
    apiKey: '',
    stack: 'headless-chrome',
  }))
  const restedUntil = new Float64Array(o.accounts)
  function* script(): Script {
    let t = ctx.startMs + rng.int(0, HOUR_MS)
    let turn = 0
    for (;;) {
      const a = turn++ % o.accounts
      if ((restedUntil[a] as number) > t) {
        t += 60_000
        continue
      }
      const c = clients[a] as Client
      const userId = accounts[a] as number
      if (c.sid === '') {
        const login: Outcome = yield step(
          t,
          c,
          'POST',
          '/api/login',
          '',
          JSON.stringify({ username: pop.username(userId), password: pop.password(userId) }),
        )
        if (login.refused || login.sid === '') {
          restedUntil[a] = t + 24 * HOUR_MS
          continue
        }
        c.sid = login.sid
      }
      const shiftEnd = t + o.shiftMs
      let refused = false
      while (t < shiftEnd && !refused) {
        const item = randomItem(rng, pop)
        t += rng.exp(o.thinkMs) + 1000
        const page = `/item/${item}`
        refused = (yield step(t, c, 'GET', page, '/')).refused
        for (const asset of PAGE_ASSETS_OF(item)) {
          if (refused) break
          t += rng.int(20, 120)
          refused = (yield step(t, c, 'GET', asset, page)).refused
        }
        const comments = pop.item(item).comments
        for (let i = 0; i < Math.min(comments, COMMENTS_PER_PAGE) && !refused; i++) {
          t += rng.exp(o.thinkMs) + 800
          refused = (yield step(t, c, 'GET', `/api/users/${pop.commentAuthor(item, i)}`, page))
            .refused
        }
      }
      if (refused) {
        restedUntil[a] = t + 24 * HOUR_MS
        c.sid = ''
      }
      t += rng.int(1000, 60_000)
    }
  }
  return [{ id: 'A4', profile: 'A4', kind: 'adversary', script: script() }]
}
