import { PAGE_ASSETS } from '../shop/assets.ts'
import { featuredItems, searchItems } from '../shop/handlers.ts'
import { COMMENTS_PER_PAGE, FIRST_ITEM_ID, FIRST_USER_ID, type Population } from '../population.ts'
import { Rng, hash32 } from '../prng.ts'

/**
 * What every simulator shares: the step an actor takes (one HTTP request at a virtual time),
 * what it learns back, human rhythm (diurnal activity in China time), and the browsing session
 * that shoppers, shared-NAT users and the mimic all follow.
 */

/** Threat-model profiles the lab implements. */
export const PROFILES = ['A1', 'A2', 'A3', 'A4', 'A5', 'B1', 'B2', 'B3', 'B4', 'B5', 'B6'] as const
/** One of {@link PROFILES}. */
export type Profile = (typeof PROFILES)[number]
/** Adversary or benign. */
export type ActorKind = 'adversary' | 'benign'

/** One request an actor makes, at an absolute virtual time. */
export interface Step {
  readonly atMs: number
  readonly method: string
  readonly path: string
  readonly body?: string
  /** Source address (loopback 127.x.y.z in HTTP mode). */
  readonly ip: string
  readonly userAgent: string
  /** Accept-Language, '' when the client sends none. */
  readonly acceptLanguage: string
  readonly referer: string
  /** Session token sent as the `sid` cookie, '' when none. */
  readonly sid: string
  /** Partner bearer key, '' when none. */
  readonly apiKey: string
  /**
   * The client software stack (`browser`, `python-requests`, `headless-chrome`…): what header
   * order and TLS fingerprint give away. Part of the device principal, as in src/http.
   */
  readonly stack: string
}

/** What the actor learns about its request. */
export interface Outcome {
  readonly status: number
  /** True when the guard refused it (block, challenge or throttle). */
  readonly refused: boolean
  /** JSON body when there was one. */
  readonly data: unknown
  /** Session token the shop set, '' when none. */
  readonly sid: string
}

/** An actor's behaviour: yields steps, receives outcomes; returning ends the actor. */
export type Script = Generator<Step, void, Outcome>

/** One simulated actor: a person, a bot, or one harvester with all its identities. */
export interface SimActor {
  readonly id: string
  readonly profile: Profile
  readonly kind: ActorKind
  readonly script: Script
}

/** Whether the lab runs on the virtual clock (any addresses) or over loopback HTTP. */
export type SimMode = 'virtual' | 'http'

/** What simulators get to build actors. */
export interface SimContext {
  readonly population: Population
  readonly seed: number
  readonly startMs: number
  readonly endMs: number
  readonly mode: SimMode
  /** A deterministic Rng for one actor, from the scenario seed and a stable name. */
  rng(name: string): Rng
  /**
   * A client address for address number `n` of a pool: public-looking in virtual mode,
   * 127.x.y.z in HTTP mode. Pool names keep pools apart; `perNet` addresses share a /24.
   */
  ip(pool: string, n: number, perNet?: number): string
}

function poolSalt(pool: string): number {
  let h = 2166136261
  for (let i = 0; i < pool.length; i++) h = Math.imul(h ^ pool.charCodeAt(i), 16777619)
  return h >>> 0
}

/** Creates a {@link SimContext}. */
export function createSimContext(
  population: Population,
  seed: number,
  startMs: number,
  days: number,
  mode: SimMode,
): SimContext {
  // Virtual-mode first octets: eyeball ranges of large carriers (no person behind these here).
  const FIRST = [
    36, 39, 42, 58, 60, 101, 106, 111, 112, 113, 114, 115, 116, 117, 119, 120, 121, 122, 123, 124,
    125, 180, 182, 183, 218, 220, 221, 222, 223,
  ]
  return {
    population,
    seed,
    startMs,
    endMs: startMs + days * DAY_MS,
    mode,
    rng: (name) => new Rng(hash32(seed, poolSalt(name), 77)),
    ip(pool, n, perNet = 1) {
      if (pool === 'crawler')
        return mode === 'http' ? `127.66.249.${10 + (n % 200)}` : `66.249.66.${10 + (n % 200)}`
      const net = hash32(seed, poolSalt(pool), Math.floor(n / perNet))
      const host = perNet === 1 ? 2 + (hash32(net, n, 5) % 250) : 2 + ((n % perNet) % 250)
      const b = (net >>> 8) & 255
      const c = (net >>> 16) & 255
      if (mode === 'http') return `127.${1 + (net % 250)}.${b}.${host}`
      return `${FIRST[net % FIRST.length]}.${b}.${c}.${host}`
    },
  }
}

export const SECOND_MS = 1000
export const MINUTE_MS = 60_000
export const HOUR_MS = 3_600_000
export const DAY_MS = 86_400_000
/** China Standard Time offset: the population lives in UTC+8. */
const CST_OFFSET_MS = 8 * HOUR_MS

/** Local hour (0-23, fractional) in China time. */
export function localHour(timeMs: number): number {
  return ((((timeMs + CST_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS
}

// Relative activity of online shoppers by local hour: asleep 2-7, peaks at lunch and 20-23.
const DIURNAL = [
  0.35, 0.2, 0.1, 0.05, 0.04, 0.05, 0.1, 0.25, 0.45, 0.6, 0.7, 0.75, 0.85, 0.75, 0.7, 0.7, 0.7,
  0.75, 0.8, 0.9, 1, 1, 0.95, 0.7,
]

/** Relative human activity (0-1) at a time. */
export function diurnal(timeMs: number): number {
  return DIURNAL[Math.floor(localHour(timeMs))] as number
}

/**
 * The next time a person starts a session, with `meanGapMs` between sessions at peak hours and
 * fewer at night (thinning of a Poisson process by the diurnal curve).
 */
export function nextSessionStart(rng: Rng, fromMs: number, meanGapMs: number): number {
  let t = fromMs
  for (let i = 0; i < 10_000; i++) {
    t += rng.exp(meanGapMs)
    if (rng.next() < diurnal(t)) return t
  }
  return t
}

/** Next time inside business hours (9:00-18:00 China time, Monday to Saturday) at or after t. */
export function nextBusinessTime(timeMs: number): number {
  let t = timeMs
  for (let i = 0; i < 24 * 8; i++) {
    const h = localHour(t)
    const weekday = new Date(t + CST_OFFSET_MS).getUTCDay()
    if (weekday !== 0 && h >= 9 && h < 18) return t
    t = Math.floor((t + CST_OFFSET_MS) / HOUR_MS + 1) * HOUR_MS - CST_OFFSET_MS
  }
  return t
}

/**
 * Browser user agents real shoppers send: a long tail of browser versions, platforms and phone
 * models, as on a real site (a device fingerprint is shared by many people, but not thousands).
 */
export const BROWSER_AGENTS: readonly string[] = (() => {
  const out: string[] = []
  const androids = [
    'V2203A',
    'HUAWEI P50',
    'M2102J2SC',
    'PGT-AN10',
    'SM-S9080',
    'NOH-AN00',
    'RMX3366',
    'LIO-AN00',
  ]
  for (let v = 110; v <= 121; v++) {
    out.push(
      `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36`,
    )
    out.push(
      `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36`,
    )
    for (const m of androids)
      out.push(
        `Mozilla/5.0 (Linux; Android ${10 + (v % 4)}; ${m}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Mobile Safari/537.36`,
      )
  }
  for (const ios of ['15_7', '16_1', '16_5', '16_6', '17_0', '17_1', '17_2', '17_3', '17_4']) {
    out.push(
      `Mozilla/5.0 (iPhone; CPU iPhone OS ${ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${ios.split('_')[0]}.0 Mobile/15E148 Safari/604.1`,
    )
    out.push(
      `Mozilla/5.0 (iPhone; CPU iPhone OS ${ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.4${ios.length} NetType/WIFI Language/zh_CN`,
    )
  }
  for (let v = 115; v <= 121; v++)
    out.push(`Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:${v}.0) Gecko/20100101 Firefox/${v}.0`)
  return Object.freeze(out)
})()

/** A browser user agent, popular ones more often (popularity is skewed on real sites). */
export function pickBrowser(rng: Rng): string {
  return BROWSER_AGENTS[Math.floor(BROWSER_AGENTS.length * rng.next() ** 1.5)] as string
}
export const ACCEPT_LANGUAGES = [
  'zh-CN,zh;q=0.9',
  'zh-CN,zh;q=0.9,en;q=0.8',
  'zh-CN',
  'en-US,en;q=0.9,zh-CN;q=0.8',
] as const

/** The identity fields of a step that stay fixed across a stretch of requests. */
export interface Client {
  ip: string
  userAgent: string
  acceptLanguage: string
  sid: string
  apiKey: string
  /** See {@link Step.stack}. */
  stack: string
}

/** Builds a step from a client and a request. */
export function step(
  atMs: number,
  client: Client,
  method: string,
  path: string,
  referer = '',
  body?: string,
): Step {
  const s: Step = {
    atMs,
    method,
    path,
    ip: client.ip,
    userAgent: client.userAgent,
    acceptLanguage: client.acceptLanguage,
    referer,
    sid: client.sid,
    apiKey: client.apiKey,
    stack: client.stack,
  }
  return body === undefined ? s : { ...s, body }
}

/** Options of {@link browseSession}. */
export interface BrowseOptions {
  /** Pages in the session (HTML and XHR). */
  readonly pages: number
  /** Mean think time between pages. @default 20 s */
  readonly thinkMs?: number
  /** Whether the browser loads page assets (css, js, images). @default true */
  readonly assets?: boolean
  /** Chance per page to open a commenter's profile. @default 0.04 */
  readonly profileRate?: number
  /** Chance per page to load another page of comments (XHR). @default 0.2 */
  readonly moreCommentsRate?: number
}

/**
 * A browsing session like a person's: home, searches, item pages (with their picture), more
 * comments now and then, rarely a commenter's profile. Yields steps from `startMs`; returns the
 * time the session ended (or -1 when the guard refused it: people give up, then come back).
 */
export function* browseSession(
  rng: Rng,
  pop: Population,
  client: Client,
  startMs: number,
  options: BrowseOptions,
): Generator<Step, number, Outcome> {
  const think = options.thinkMs ?? 20_000
  const assets = options.assets ?? true
  const profileRate = options.profileRate ?? 0.04
  const moreRate = options.moreCommentsRate ?? 0.2
  let t = startMs
  let listing = featuredItems(pop)
  let referer = ''
  let item = -1
  let commentPages = 1
  let loadedStatic = false
  const loadAssets = function* (
    pageUrl: string,
    itemId: number,
  ): Generator<Step, boolean, Outcome> {
    if (!assets) return true
    if (!loadedStatic || rng.chance(0.1)) {
      for (const a of PAGE_ASSETS) {
        t += 20 + rng.int(0, 80)
        if ((yield step(t, client, 'GET', a, pageUrl)).refused) return false
      }
      loadedStatic = true
    }
    if (itemId > 0) {
      t += 30 + rng.int(0, 100)
      if ((yield step(t, client, 'GET', `/static/img/${itemId}.png`, pageUrl)).refused) return false
    }
    return true
  }
  for (let i = 0; i < options.pages; i++) {
    const r = rng.next()
    let path: string
    let isPage = true
    let nextItem = -1
    if (i === 0) path = '/'
    else if (
      item > 0 &&
      r < moreRate &&
      commentPages * COMMENTS_PER_PAGE < pop.item(item).comments
    ) {
      commentPages++
      path = `/api/items/${item}/comments?page=${commentPages}`
      isPage = false
    } else if (item > 0 && r < moreRate + profileRate) {
      const author = pop.commentAuthor(
        item,
        rng.int(0, Math.min(pop.item(item).comments, commentPages * COMMENTS_PER_PAGE) - 1),
      )
      path = `/api/users/${author}`
      isPage = false
    } else if (r < 0.45) {
      const q = rng.pick([
        'teapot',
        'lamp',
        'scarf',
        'mug',
        'phone case',
        'sneakers',
        'pillow',
        'kettle',
      ])
      path = `/search?q=${encodeURIComponent(q)}`
      listing = searchItems(pop, q)
    } else {
      nextItem = listing.length > 0 ? rng.pick(listing) : FIRST_ITEM_ID + rng.int(0, pop.items - 1)
      path = `/item/${nextItem}`
    }
    const out: Outcome = yield step(t, client, 'GET', path, referer)
    if (out.refused) return -1
    if (isPage) {
      if (!(yield* loadAssets(path, nextItem))) return -1
      referer = path
      if (nextItem > 0) {
        item = nextItem
        commentPages = 1
      }
    }
    t += Math.max(1500, Math.min(180_000, rng.exp(think)))
  }
  return t
}

/** A random user ID of the population. */
export function randomUser(rng: Rng, pop: Population): number {
  return FIRST_USER_ID + rng.int(0, pop.users - 1)
}
/** A random item ID of the population. */
export function randomItem(rng: Rng, pop: Population): number {
  return FIRST_ITEM_ID + rng.int(0, pop.items - 1)
}

/** Every asset an item page references, in fetch order. */
export function PAGE_ASSETS_OF(itemId: number): string[] {
  return [...PAGE_ASSETS, `/static/img/${itemId}.png`]
}
