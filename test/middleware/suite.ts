// One behaviour suite every adapter passes (node, Express, Fastify, Hono): each test file starts
// its framework's real server on port 0 with the routes below and hands the suite a URL.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { gunzipSync, gzipSync } from 'node:zlib'
import { compileCatalogue } from '../../src/core/catalogue.ts'
import { FIELD_BIT } from '../../src/core/exposure.ts'
import { createGuard, type Guard, type GuardOptions } from '../../src/http/index.ts'
import { RecordingEngine, testKeyer } from '../http/support.ts'

/** The JSON the comments route serves: 20 comments by 20 people with phones. */
export function commentsBody(itemId: string): { itemId: string; comments: object[] } {
  return {
    itemId,
    comments: Array.from({ length: 20 }, (_, i) => ({
      userId: 1000 + i,
      nickname: `用户${i}号`,
      phone: `138${String(10000000 + i).padStart(8, '0')}`,
      text: `comment ${i} on ${itemId}`,
    })),
  }
}

/** Routes every adapter's test app serves. */
export interface AppRoutes {
  /** GET /api/items/:id/comments -> commentsBody(id) as JSON */
  comments(itemId: string): string
  /** GET /gz/comments -> commentsBody('gz') gzip-encoded with Content-Encoding: gzip */
  gzipped(): Buffer
  /** GET /page -> HTML with a phone number in it */
  page(): string
}

export const appRoutes: AppRoutes = {
  comments: (itemId) => JSON.stringify(commentsBody(itemId)),
  gzipped: () => gzipSync(JSON.stringify(commentsBody('gz'))),
  page: () => '<html><body><p>Call 13812345678 or mail li.lei@example.com</p></body></html>',
}

export const routeSpecs = [
  {
    route: 'GET /api/items/:itemId/comments',
    resource: 'api' as const,
    exposes: [
      {
        each: '$.comments[*]',
        subject: 'user:{.userId}',
        fields: { id: '.userId', name: '.nickname', phone: '.phone', comment: '.text' },
      },
    ],
  },
  {
    route: 'GET /gz/comments',
    resource: 'api' as const,
    exposes: [
      {
        each: '$.comments[*]',
        subject: 'user:{.userId}',
        fields: { id: '.userId', name: '.nickname', phone: '.phone', comment: '.text' },
      },
    ],
  },
  { route: 'GET /page', resource: 'page' as const },
]

/** A started test server. */
export interface Started {
  readonly url: string
  close(): Promise<void>
}

const BROWSER = {
  'user-agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'accept-language': 'zh-CN',
}

/** Runs the suite against an adapter. `start` serves {@link appRoutes} behind the guard. */
export function adapterSuite(name: string, start: (guard: Guard) => Promise<Started>): void {
  describe(`${name} adapter`, () => {
    const engine = new RecordingEngine()
    const options: GuardOptions = {
      engine,
      keyer: testKeyer(),
      catalogue: compileCatalogue(routeSpecs),
      challenge: { secret: 'challenge-secret-0123456789', difficultyBits: 4 },
      allowlist: ['account:never'],
    }
    let server: Started
    before(async () => {
      server = await start(createGuard(options))
    })
    after(() => server.close())
    const reset = (verdict?: string): void => {
      engine.events.length = 0
      engine.verdicts.clear()
      if (verdict !== undefined) engine.verdicts.set('ip:127.0.0.1', verdict as 'allow')
    }

    it('counts each comment author served as one exposure with the classes in the clear', async () => {
      reset()
      const res = await fetch(`${server.url}/api/items/7/comments`, { headers: BROWSER })
      const body = (await res.json()) as ReturnType<typeof commentsBody>
      assert.equal(body.comments[0]!.valueOf() !== undefined, true)
      assert.equal(engine.events.length, 1)
      const event = engine.events[0]!
      assert.equal(event.route, 'GET /api/items/:itemId/comments')
      assert.equal(event.status, 200)
      assert.equal(event.exposures.length, 20)
      const all = FIELD_BIT.id | FIELD_BIT.name | FIELD_BIT.phone | FIELD_BIT.comment
      assert.ok(event.exposures.every((e) => e.fields === all))
      assert.equal(event.principals[0], 'ip:127.0.0.1')
      assert.equal(event.principals[1], 'net:127.0.0.0/24')
    })

    it('masks protected fields in flight with a correct Content-Length', async () => {
      reset('mask')
      const res = await fetch(`${server.url}/api/items/7/comments`, { headers: BROWSER })
      const text = await res.text()
      assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(text))
      const body = JSON.parse(text) as {
        comments: { phone: string; nickname: string; text: string }[]
      }
      assert.equal(body.comments[3]!.phone, '138****0003')
      assert.equal(body.comments[3]!.nickname, '用***')
      assert.equal(body.comments[3]!.text, 'comment 3 on 7')
      assert.doesNotMatch(text, /1381000000\d/)
      // Masked classes no longer count as disclosed; the comment text still does.
      const e = engine.events[0]!
      assert.equal(e.exposures.length, 20)
      assert.ok(e.exposures.every((x) => x.fields === FIELD_BIT.comment))
    })

    it('masks a gzip-encoded body and re-encodes it', async () => {
      reset('mask')
      const res = await fetch(`${server.url}/gz/comments`, {
        headers: { ...BROWSER, 'accept-encoding': 'gzip' },
      })
      // fetch decodes gzip itself; the raw length must still match what was sent.
      const text = await res.text()
      assert.match(text, /138\*\*\*\*0019/)
      assert.doesNotMatch(text, /13810000019/)
      reset()
      const plain = await fetch(`${server.url}/gz/comments`, { headers: BROWSER })
      assert.match(await plain.text(), /13810000019/)
      assert.equal(engine.events[0]!.exposures.length, 20)
    })

    it('masks phone numbers and e-mail addresses in HTML', async () => {
      reset('mask')
      const res = await fetch(`${server.url}/page`, { headers: BROWSER })
      const html = await res.text()
      assert.match(html, /Call 138\*\*\*\*5678 or mail l\*\*\*@example\.com/)
    })

    it('blocks with a 403 problem document naming the reasons', async () => {
      reset('block')
      const res = await fetch(`${server.url}/api/items/7/comments`, { headers: BROWSER })
      assert.equal(res.status, 403)
      assert.match(res.headers.get('content-type')!, /application\/problem\+json/)
      const problem = (await res.json()) as { type: string; status: number; reasons: string[] }
      assert.equal(problem.status, 403)
      assert.deepEqual(problem.reasons, ['distinct-records'])
      assert.equal(engine.events[0]!.status, 403)
      assert.equal(engine.events[0]!.exposures.length, 0)
    })

    it('throttles with 429 and Retry-After', async () => {
      reset('throttle')
      const res = await fetch(`${server.url}/api/items/7/comments`, { headers: BROWSER })
      assert.equal(res.status, 429)
      assert.equal(res.headers.get('retry-after'), '30')
      await res.arrayBuffer()
    })

    it('challenges browsers with a page and API clients with problem JSON 401', async () => {
      reset('challenge')
      const page = await fetch(`${server.url}/page`, {
        headers: { ...BROWSER, accept: 'text/html' },
      })
      assert.equal(page.status, 403)
      assert.match(await page.text(), /Checking your browser/)
      const api = await fetch(`${server.url}/api/items/7/comments`, {
        headers: { ...BROWSER, accept: 'application/json' },
      })
      assert.equal(api.status, 401)
      assert.equal(((await api.json()) as { type: string }).type.endsWith('/challenge'), true)
    })

    it('changes nothing for a spoofed X-Forwarded-For from an untrusted peer', async () => {
      reset('block')
      const res = await fetch(`${server.url}/api/items/7/comments`, {
        headers: { ...BROWSER, 'x-forwarded-for': '203.0.113.50' },
      })
      assert.equal(res.status, 403)
      await res.arrayBuffer()
      assert.equal(engine.events[0]!.client.ip, '127.0.0.1')
    })

    it('enforces nothing on a principal the engine allows, whatever others get', async () => {
      reset()
      engine.verdicts.set('ip:203.0.113.50', 'block')
      const res = await fetch(`${server.url}/api/items/7/comments`, { headers: BROWSER })
      assert.equal(res.status, 200)
      await res.arrayBuffer()
    })
  })
}

/** gunzip helper for adapters that serve pre-compressed bodies. */
export const gunzip = gunzipSync
