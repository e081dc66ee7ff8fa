import { hash32 } from '../prng.ts'
import { COMMENTS_PER_PAGE, FIRST_ITEM_ID, type Population } from '../population.ts'
import { PAGE_ASSETS, SHOP_ASSETS } from './assets.ts'

/**
 * The demo shop as pure functions: a request in, a response out. The HTTP server and the
 * virtual-clock simulation call the same code, so what the simulation counts is what the real
 * shop serves. Route contract: docs/lab.md (stable; external evaluations rely on it).
 *
 * Deliberately vulnerable like the platform of the reference incident: the partner API serves
 * any existing user to any valid key, not only the partner's own customers, and logged-in users
 * see everyone's phone number. HarvestGuard, not the shop, has to stop harvesting.
 */

/** A request as the shop sees it. Header names lowercase. */
export interface ShopRequest {
  readonly method: string
  /** Path with query string. */
  readonly path: string
  readonly headers: Readonly<Record<string, string | undefined>>
  /** Request body (JSON routes), '' when none. */
  readonly body?: string
}

/** A response: status, headers, body, plus what the shop resolved about the caller. */
export interface ShopResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** Body text or bytes (rendered on first access: the simulation often never reads it). */
  readonly body: string | Uint8Array
  /** The JSON value of the body when the route answers JSON. */
  readonly data: unknown
  /** Account or partner-key ID the shop resolved, as platforms log it; '-' when anonymous. */
  readonly user: string
  /** Username of the logged-in account (session or login), '' when none. */
  readonly account: string
  /** Partner key ID of a valid bearer key, '' when none. */
  readonly keyId: string
}

/** Options of {@link handleShopRequest}. */
export interface HandleOptions {
  /** Mask protected fields (nicknames, phone numbers, user IDs) in the response. @default false */
  readonly mask?: boolean
}

interface Account {
  readonly username: string
  /** 32-bit hash of the password: the lab never keeps registered passwords in the clear. */
  readonly passwordHash: number
  /** Population user ID, or -1 for accounts registered at run time. */
  readonly userId: number
}

/**
 * The shop's mutable state: sessions and accounts registered at run time. Everything else is
 * the (immutable, derived) population.
 */
export class ShopState {
  readonly population: Population
  readonly #sessions = new Map<string, Account>()
  readonly #registered = new Map<string, Account>()
  readonly #keys = new Map<string, number>()
  #tokens = 0
  constructor(population: Population) {
    this.population = population
    for (let p = 0; p < population.partners; p++) this.#keys.set(population.partner(p).apiKey, p)
  }
  /** Partner index of a bearer key, or -1. */
  partnerOfKey(apiKey: string): number {
    return this.#keys.get(apiKey) ?? -1
  }
  account(username: string): Account | undefined {
    const registered = this.#registered.get(username)
    if (registered !== undefined) return registered
    const userId = this.population.userIdOf(username)
    if (userId < 0) return undefined
    return { username, userId, passwordHash: passwordHash(this.population.password(userId)) }
  }
  register(username: string, password: string): Account | undefined {
    if (this.account(username) !== undefined) return undefined
    const account = { username, userId: -1, passwordHash: passwordHash(password) }
    this.#registered.set(username, account)
    return account
  }
  /** Opens a session; tokens are derived from the seed and a counter, so runs are reproducible. */
  openSession(account: Account): string {
    const n = ++this.#tokens
    const p = this.population
    const token =
      hash32(p.seed, n, 21).toString(16).padStart(8, '0') +
      hash32(p.seed, n, 22).toString(16).padStart(8, '0') +
      hash32(p.seed, n, 23).toString(16).padStart(8, '0')
    this.#sessions.set(token, account)
    return token
  }
  session(token: string): Account | undefined {
    return this.#sessions.get(token)
  }
  get sessions(): number {
    return this.#sessions.size
  }
}

function passwordHash(password: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < password.length; i++) h = Math.imul(h ^ password.charCodeAt(i), 16777619)
  return hash32(h, password.length, 31)
}

/** Masks a mobile number the way the item page shows it: `138****5678`. */
export function maskPhone(phone: string): string {
  return `${phone.slice(0, 3)}****${phone.slice(-4)}`
}
/** Masks a nickname: first character kept. */
export function maskName(name: string): string {
  return `${name.slice(0, 1)}***`
}

const HTML = 'text/html; charset=utf-8'
const JSON_TYPE = 'application/json; charset=utf-8'

class Reply implements ShopResponse {
  readonly status: number
  readonly headers: Record<string, string>
  readonly data: unknown
  user = '-'
  account = ''
  keyId = ''
  #render: (() => string | Uint8Array) | undefined
  #body: string | Uint8Array | undefined
  constructor(status: number, type: string, render: () => string | Uint8Array, data?: unknown) {
    this.status = status
    this.headers = { 'content-type': type }
    this.#render = render
    this.data = data
  }
  get body(): string | Uint8Array {
    if (this.#render !== undefined) {
      this.#body = this.#render()
      this.#render = undefined
    }
    return this.#body as string | Uint8Array
  }
}

function json(status: number, data: unknown): Reply {
  return new Reply(status, JSON_TYPE, () => JSON.stringify(data), data)
}
function html(status: number, render: () => string): Reply {
  return new Reply(status, HTML, render)
}
function text(status: number, body: string): Reply {
  return new Reply(status, 'text/plain; charset=utf-8', () => body)
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;',
  )
}

function page(title: string, main: string): string {
  return `<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>${esc(title)} - HG Shop</title><link rel="stylesheet" href="${PAGE_ASSETS[0]}"><script src="${PAGE_ASSETS[1]}" defer></script></head><body><header><img src="${PAGE_ASSETS[2]}" alt="" width="24" height="24"><a href="/">HG Shop</a><form action="/search"><input name="q"></form></header><main>${main}</main></body></html>`
}

function cookie(headers: ShopRequest['headers'], name: string): string {
  const raw = headers['cookie']
  if (raw === undefined) return ''
  for (const part of raw.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return ''
}

function query(path: string, name: string): string | undefined {
  const q = path.indexOf('?')
  if (q < 0) return undefined
  return new URLSearchParams(path.slice(q + 1)).get(name) ?? undefined
}

/** Parses a positive decimal ID segment; -1 when it is not one. */
function id(segment: string | undefined): number {
  if (segment === undefined || !/^\d{1,12}$/.test(segment)) return -1
  return Number(segment)
}

function parseBody(body: string | undefined): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body ?? '')
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** Items on the home page: a seed-dependent but stable selection. */
export function featuredItems(pop: Population, count = 24): number[] {
  const out: number[] = []
  for (let i = 0; i < count; i++) out.push(FIRST_ITEM_ID + (hash32(pop.seed, i, 41) % pop.items))
  return out
}

/** Items a search for `q` returns (up to 20): stable per query, titles matching when possible. */
export function searchItems(pop: Population, q: string): number[] {
  let cache = searchCache.get(pop)
  if (cache === undefined) searchCache.set(pop, (cache = new Map()))
  let hit = cache.get(q)
  if (hit === undefined) {
    if (cache.size > 1000) cache.clear()
    cache.set(q, (hit = computeSearch(pop, q)))
  }
  return hit
}
// Results are derived from the seed: caching them changes nothing but speed.
const searchCache = new WeakMap<Population, Map<string, number[]>>()

function computeSearch(pop: Population, q: string): number[] {
  let h = 0x811c9dc5
  for (let i = 0; i < q.length; i++) h = Math.imul(h ^ q.charCodeAt(i), 16777619)
  const needle = q.toLowerCase()
  const out: number[] = []
  for (let i = 0; i < 200 && out.length < 20; i++) {
    const itemId = FIRST_ITEM_ID + (hash32(h, i, 42) % pop.items)
    if (needle === '' || pop.item(itemId).title.toLowerCase().includes(needle) || i % 10 === 0)
      out.push(itemId)
  }
  return out
}

/**
 * Answers one request. Pure apart from `state` (sessions and registrations).
 * @example
 * const res = handleShopRequest(state, { method: 'GET', path: '/api/users/1000001', headers: {} })
 * res.data // { userId: 1000001, nickname: '…', city: '…' }
 */
export function handleShopRequest(
  state: ShopState,
  req: ShopRequest,
  options: HandleOptions = {},
): ShopResponse {
  const pop = state.population
  const mask = options.mask === true
  const q = req.path.indexOf('?')
  const pathname = q < 0 ? req.path : req.path.slice(0, q)
  const seg = pathname.split('/')
  const method = req.method.toUpperCase()
  const sid = cookie(req.headers, 'sid')
  const session = sid === '' ? undefined : state.session(sid)
  const resolved = (reply: Reply): Reply => {
    if (session !== undefined && reply.account === '') {
      reply.account = session.username
      reply.user = session.username
    }
    return reply
  }
  const name = (n: string) => (mask ? maskName(n) : n)

  if (method === 'GET' || method === 'HEAD') {
    if (pathname === '/') {
      return resolved(
        html(200, () =>
          page(
            'Home',
            '<h1>Featured</h1>' +
              featuredItems(pop)
                .map(
                  (itemId) =>
                    `<div class="item"><a href="/item/${itemId}">${esc(pop.item(itemId).title)}</a></div>`,
                )
                .join(''),
          ),
        ),
      )
    }
    if (pathname.startsWith('/static/')) {
      // Item pictures: every item page references its own (a 1x1 PNG here).
      const asset = /^\/static\/img\/\d{1,12}\.png$/.test(pathname)
        ? SHOP_ASSETS['/static/logo.png']
        : SHOP_ASSETS[pathname]
      if (asset === undefined) return text(404, 'not found\n')
      const reply = new Reply(200, asset.type, () => asset.body)
      reply.headers['cache-control'] = 'public, max-age=3600'
      return reply
    }
    if (pathname === '/search') {
      const term = query(req.path, 'q') ?? ''
      return resolved(
        html(200, () =>
          page(
            `Search ${term}`,
            `<h1>Results for ${esc(term)}</h1>` +
              searchItems(pop, term)
                .map(
                  (itemId) =>
                    `<div class="item"><a href="/item/${itemId}">${esc(pop.item(itemId).title)}</a></div>`,
                )
                .join(''),
          ),
        ),
      )
    }
    if (seg[1] === 'item' && seg.length === 3) {
      const itemId = id(seg[2])
      if (!pop.hasItem(itemId))
        return resolved(html(404, () => page('Not found', '<h1>No such item</h1>')))
      const item = pop.item(itemId)
      const comments = pop.commentPage(itemId, 1)
      // The data behind the page (what a JSON island would carry): the catalogue's body rule
      // for this route reads it in the lab; the HTML shows the same nicknames.
      const data = {
        itemId,
        comments: comments.map((c) => ({
          userId: mask ? null : c.userId,
          nickname: name(c.nickname),
          text: c.text,
        })),
      }
      return resolved(
        new Reply(
          200,
          HTML,
          () => {
            return page(
              item.title,
              `<h1>${esc(item.title)}</h1><img src="/static/img/${itemId}.png" alt=""><p>¥${(item.priceFen / 100).toFixed(2)} · seller ${item.sellerId}</p><h2>${item.comments} comments</h2>` +
                comments
                  .map(
                    (c) =>
                      `<div class="comment"><b>${esc(name(c.nickname))}</b> <span class="masked">${maskPhone(pop.phone(c.userId))}</span> ${esc(c.text)}</div>`,
                  )
                  .join('') +
                (item.comments > COMMENTS_PER_PAGE
                  ? `<a href="#" data-more="/api/items/${itemId}/comments?page=2">more</a>`
                  : ''),
            )
          },
          data,
        ),
      )
    }
    if (seg[1] === 'api' && seg[2] === 'items' && seg[4] === 'comments' && seg.length === 5) {
      const itemId = id(seg[3])
      if (!pop.hasItem(itemId)) return resolved(json(404, { error: 'no such item' }))
      const pageNo = id(query(req.path, 'page') ?? '1')
      if (pageNo < 1) return resolved(json(400, { error: 'page must be a positive integer' }))
      const comments = pop.commentPage(itemId, pageNo).map((c) => ({
        commentId: c.commentId,
        userId: mask ? null : c.userId,
        nickname: name(c.nickname),
        text: c.text,
        time: c.time,
      }))
      return resolved(json(200, { itemId, page: pageNo, comments }))
    }
    if (seg[1] === 'api' && seg[2] === 'users' && seg.length === 4) {
      const userId = id(seg[3])
      if (!pop.hasUser(userId)) return resolved(json(404, { error: 'no such user' }))
      const u = pop.user(userId)
      const data: Record<string, unknown> = { userId, nickname: name(u.nickname), city: u.city }
      if (session !== undefined) data['phone'] = mask ? maskPhone(u.phone) : u.phone
      return resolved(json(200, data))
    }
    if (pathname === '/api/me/orders') {
      if (session === undefined) return json(401, { error: 'login required' })
      const orders = session.userId < 0 ? [] : pop.orders(session.userId)
      return resolved(
        json(200, {
          userId: session.userId,
          orders: orders.map((itemId) => ({ itemId, title: pop.item(itemId).title })),
        }),
      )
    }
    if (seg[1] === 'partner' && seg[2] === 'v1' && seg[3] === 'customers' && seg.length === 5) {
      const auth = req.headers['authorization'] ?? ''
      const partner = auth.startsWith('Bearer ') ? state.partnerOfKey(auth.slice(7).trim()) : -1
      if (partner < 0) return json(401, { error: 'valid partner key required' })
      const keyId = pop.partner(partner).keyId
      const userId = id(seg[4])
      const reply = pop.hasUser(userId)
        ? json(200, {
            userId,
            nickname: name(pop.nickname(userId)),
            phone: mask ? maskPhone(pop.phone(userId)) : pop.phone(userId),
          })
        : json(404, { error: 'no such customer' })
      reply.keyId = keyId
      reply.user = keyId
      return reply
    }
    if (pathname === '/robots.txt') {
      return text(200, 'User-agent: *\nDisallow: /api/\nDisallow: /partner/\nAllow: /\n')
    }
    if (pathname === '/healthz') return json(200, { ok: true })
    return resolved(html(404, () => page('Not found', '<h1>Not found</h1>')))
  }

  if (method === 'POST' && (pathname === '/api/login' || pathname === '/api/register')) {
    const body = parseBody(req.body)
    const username = body?.['username']
    const password = body?.['password']
    if (typeof username !== 'string' || typeof password !== 'string') {
      return json(400, { error: 'expected JSON { username, password }' })
    }
    let account
    if (pathname === '/api/login') {
      account = state.account(username)
      if (account === undefined || account.passwordHash !== passwordHash(password)) {
        return json(401, { error: 'wrong username or password' })
      }
    } else {
      if (!/^[a-z0-9_]{3,32}$/.test(username) || password.length < 6) {
        return json(400, { error: 'username: 3-32 of a-z 0-9 _; password: at least 6 characters' })
      }
      account = state.register(username, password)
      if (account === undefined) return json(409, { error: 'username taken' })
    }
    const token = state.openSession(account)
    const reply = json(pathname === '/api/login' ? 200 : 201, { ok: true, username })
    reply.headers['set-cookie'] = `sid=${token}; Path=/; HttpOnly; SameSite=Lax`
    reply.account = username
    reply.user = username
    return reply
  }
  return json(405, { error: 'method not allowed' })
}
