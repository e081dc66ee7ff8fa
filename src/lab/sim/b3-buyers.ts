import { FIRST_USER_ID } from '../population.ts'
import {
  ACCEPT_LANGUAGES,
  pickBrowser,
  HOUR_MS,
  PAGE_ASSETS_OF,
  nextSessionStart,
  step,
  type Client,
  type Outcome,
  type Script,
  type SimActor,
  type SimContext,
} from './common.ts'

/**
 * B3, logged-in buyers: log in, look at their own orders and the items in them, and open one to
 * three seller or commenter profiles (which show phone numbers to logged-in users). A visit
 * every day or two; sessions last a few minutes.
 */
export interface B3Options {
  /** Buyers. @default 300 */
  readonly actors?: number
  /** Mean time between visits at peak hours. @default 36 h */
  readonly meanGapMs?: number
}

export const B3_DEFAULTS: Required<B3Options> = { actors: 300, meanGapMs: 36 * HOUR_MS }

/** Creates the buyers. */
export function createB3(ctx: SimContext, options: B3Options = {}): SimActor[] {
  const o = { ...B3_DEFAULTS, ...options }
  const pop = ctx.population
  const actors: SimActor[] = []
  for (let i = 0; i < o.actors; i++) {
    const id = `B3-${i}`
    const rng = ctx.rng(id)
    const userId = FIRST_USER_ID + ((i * 7919) % pop.users)
    const client: Client = {
      ip: ctx.ip('b3', i),
      userAgent: pickBrowser(rng),
      acceptLanguage: rng.pick(ACCEPT_LANGUAGES),
      sid: '',
      apiKey: '',
      stack: 'browser',
    }
    function* script(): Script {
      let t = nextSessionStart(rng, ctx.startMs, o.meanGapMs)
      for (;;) {
        if (client.sid === '') {
          const login: Outcome = yield step(
            t,
            client,
            'POST',
            '/api/login',
            '/',
            JSON.stringify({ username: pop.username(userId), password: pop.password(userId) }),
          )
          client.sid = login.sid
        }
        let refused = client.sid === ''
        if (!refused) {
          t += rng.int(1000, 5000)
          const orders: Outcome = yield step(t, client, 'GET', '/api/me/orders', '/')
          refused = orders.refused
          for (const itemId of pop.orders(userId)) {
            if (refused || rng.chance(0.5)) continue
            t += rng.int(3000, 30_000)
            refused = (yield step(t, client, 'GET', `/item/${itemId}`, '/')).refused
            for (const a of PAGE_ASSETS_OF(itemId))
              if (!refused)
                refused = (yield step((t += 50), client, 'GET', a, `/item/${itemId}`)).refused
            const profiles = rng.int(0, 2)
            for (let k = 0; k < profiles && !refused; k++) {
              t += rng.int(5000, 40_000)
              const author = pop.commentAuthor(
                itemId,
                rng.int(0, Math.min(19, pop.item(itemId).comments - 1)),
              )
              refused = (yield step(t, client, 'GET', `/api/users/${author}`, `/item/${itemId}`))
                .refused
            }
          }
        }
        // Sessions expire between visits now and then.
        if (refused || rng.chance(0.2)) client.sid = ''
        t = nextSessionStart(rng, t + HOUR_MS, o.meanGapMs)
      }
    }
    actors.push({ id, profile: 'B3', kind: 'benign', script: script() })
  }
  return actors
}
