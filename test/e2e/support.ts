// A small shop for end-to-end runs: a home page linking to user profile pages (name, phone),
// each linking onward, so any recursive crawler can walk the whole user base; and the guard
// wired with the real engine, keyer and catalogue in front of it through the reverse proxy.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseConfig } from '../../src/config/index.ts'
import {
  compileCatalogue,
  createEngine,
  type Engine,
  type Event,
  FIELD_BIT,
} from '../../src/core/index.ts'
import { createGuard, type Guard, type GuardEngine } from '../../src/http/index.ts'
import { createKeyer } from '../../src/keyer/index.ts'
import { createReverseProxy, type ReverseProxy } from '../../src/proxy/index.ts'

export const USERS = 3000

export const SHOP_CONFIG = `
secret: e2e-shop-secret-0123456789abcdef
routes:
  - route: GET /users/:userId
    resource: page
    ordinal: userId
    exposes:
      - subject: 'user:{userId}'
        fields: [id, name, phone]
  - route: GET /
    resource: page
journal:
  path: ':memory:'
`

function page(title: string, body: string): string {
  return `<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>${title}</title>
<link rel="stylesheet" href="/static/site.css"></head><body><h1>${title}</h1>${body}</body></html>`
}

/** Starts the shop on loopback. */
export async function startShop(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/'
    const m = /^\/users\/(\d+)$/.exec(url)
    if (url === '/') {
      const links = Array.from(
        { length: 50 },
        (_, i) => `<a href="/users/${i + 1}">user ${i + 1}</a>`,
      )
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(page('Shop', `<p>Welcome</p>${links.join(' ')}`))
    } else if (m !== null && Number(m[1]) >= 1 && Number(m[1]) <= USERS) {
      const id = Number(m[1])
      const next = Array.from({ length: 5 }, (_, i) => ((id + i * 37) % USERS) + 1)
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(
        page(
          `User ${id}`,
          `<p>Name: 用户${id}</p><p>Phone: 138${String(id).padStart(8, '0')}</p>` +
            next.map((n) => `<a href="/users/${n}">user ${n}</a>`).join(' '),
        ),
      )
    } else if (url === '/static/site.css') {
      res.writeHead(200, { 'content-type': 'text/css' })
      res.end('body{font-family:sans-serif}')
    } else if (url === '/robots.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('User-agent: *\nAllow: /\n')
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('not found')
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

/** The proxy with the real engine in front of `upstream`, counting records served in the clear. */
export interface GuardedShop {
  readonly proxy: ReverseProxy
  readonly url: string
  readonly engine: Engine
  readonly guard: Guard
  /** Distinct user records served with the phone number in the clear. */
  readonly leaked: Set<number>
  /** Responses by status. */
  readonly statuses: Map<number, number>
}

export async function startGuardedProxy(
  upstream: string,
  options: { challengeBits?: number } = {},
): Promise<GuardedShop> {
  const config = parseConfig(SHOP_CONFIG, 'e2e.yaml')
  const engine = createEngine({
    policy: config.policy as Parameters<typeof createEngine>[0]['policy'],
  })
  const leaked = new Set<number>()
  const statuses = new Map<number, number>()
  const counting: GuardEngine = {
    judge: (principals, timeMs) => engine.judge(principals, timeMs),
    observe: (event: Event) => {
      statuses.set(event.status, (statuses.get(event.status) ?? 0) + 1)
      if (
        event.status === 200 &&
        event.ordinal >= 0 &&
        event.exposures.some((e) => (e.fields & FIELD_BIT.phone) !== 0)
      )
        leaked.add(event.ordinal)
      return engine.observe(event)
    },
  }
  const guard = createGuard({
    engine: counting,
    keyer: createKeyer(config.secret),
    catalogue: compileCatalogue(config.routes as Parameters<typeof compileCatalogue>[0]),
    challenge: {
      secret: 'e2e-challenge-secret-0123456789',
      difficultyBits: options.challengeBits ?? 14,
    },
  })
  const proxy = createReverseProxy({ upstream, guard })
  const url = await proxy.listen('127.0.0.1', 0)
  return { proxy, url, engine, guard, leaked, statuses }
}
