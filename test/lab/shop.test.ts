import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, it } from 'node:test'
import {
  FIRST_ITEM_ID,
  FIRST_USER_ID,
  ShopState,
  createPopulation,
  startShopServer,
  type RunningShop,
} from '../../src/lab/index.ts'

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
}

/** One request to the shop, optionally from a given loopback source address. */
function call(
  shop: RunningShop,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  localAddress?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: shop.port,
        method,
        path,
        headers,
        ...(localAddress === undefined ? {} : { localAddress }),
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('demo shop route contract (real server on port 0)', () => {
  const pop = createPopulation({ seed: 9, users: 3000 })
  let shop: RunningShop
  const seen: string[] = []
  before(async () => {
    shop = await startShopServer(new ShopState(pop), {
      onExchange: (x) => seen.push(x.remoteAddress),
    })
  })
  after(() => shop.close())

  it('serves a home page linking to items and referencing static assets that exist', async () => {
    const home = await call(shop, 'GET', '/')
    assert.equal(home.status, 200)
    assert.match(String(home.headers['content-type']), /text\/html/)
    assert.match(home.text, /href="\/item\/\d+"/)
    const assets = [...home.text.matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)].map((m) => m[1]!)
    assert.ok(assets.length >= 3)
    for (const a of assets) assert.equal((await call(shop, 'GET', a)).status, 200, a)
    assert.equal((await call(shop, 'GET', '/static/nope.css')).status, 404)
  })

  it('answers searches with HTML results', async () => {
    const r = await call(shop, 'GET', '/search?q=teapot')
    assert.equal(r.status, 200)
    assert.match(r.text, /Results for teapot/)
    assert.match(r.text, /href="\/item\/\d+"/)
  })

  it('shows an item with its first comments: nicknames and masked numbers only', async () => {
    const r = await call(shop, 'GET', `/item/${FIRST_ITEM_ID}`)
    assert.equal(r.status, 200)
    const first = pop.comment(FIRST_ITEM_ID, 0)
    assert.ok(r.text.includes(first.nickname))
    assert.match(r.text, /1[3-9]\d\*\*\*\*\d{4}/)
    assert.ok(!r.text.includes(pop.phone(first.userId)), 'full phone number on the item page')
    assert.equal((await call(shop, 'GET', '/item/1')).status, 404)
  })

  it('pages comments as JSON, 20 per page, with the documented fields', async () => {
    const itemId =
      FIRST_ITEM_ID + [...Array(500).keys()].find((i) => pop.item(FIRST_ITEM_ID + i).comments > 45)!
    const r = await call(shop, 'GET', `/api/items/${itemId}/comments?page=2`)
    assert.equal(r.status, 200)
    const body = JSON.parse(r.text) as {
      itemId: number
      page: number
      comments: Record<string, unknown>[]
    }
    assert.equal(body.itemId, itemId)
    assert.equal(body.page, 2)
    assert.equal(body.comments.length, 20)
    assert.deepEqual(Object.keys(body.comments[0]!).toSorted(), [
      'commentId',
      'nickname',
      'text',
      'time',
      'userId',
    ])
    assert.equal(body.comments[0]!['userId'], pop.comment(itemId, 20).userId)
  })

  it('shows public profiles, and phone numbers only to logged-in users', async () => {
    const id = FIRST_USER_ID + 17
    const anon = JSON.parse((await call(shop, 'GET', `/api/users/${id}`)).text) as Record<
      string,
      unknown
    >
    assert.deepEqual(anon, { userId: id, nickname: pop.nickname(id), city: pop.user(id).city })
    const login = await call(
      shop,
      'POST',
      '/api/login',
      { 'content-type': 'application/json' },
      JSON.stringify({
        username: pop.username(FIRST_USER_ID),
        password: pop.password(FIRST_USER_ID),
      }),
    )
    assert.equal(login.status, 200)
    const cookie = String(login.headers['set-cookie']).split(';')[0]!
    assert.match(cookie, /^sid=[0-9a-f]{24}$/)
    const logged = JSON.parse(
      (await call(shop, 'GET', `/api/users/${id}`, { cookie })).text,
    ) as Record<string, unknown>
    assert.equal(logged['phone'], pop.phone(id))
    assert.equal((await call(shop, 'GET', `/api/users/${FIRST_USER_ID - 1}`)).status, 404)
  })

  it('refuses wrong passwords and registers new accounts once', async () => {
    const bad = await call(
      shop,
      'POST',
      '/api/login',
      {},
      JSON.stringify({ username: pop.username(FIRST_USER_ID), password: 'nope' }),
    )
    assert.equal(bad.status, 401)
    const reg = await call(
      shop,
      'POST',
      '/api/register',
      {},
      JSON.stringify({ username: 'newbie_1', password: 'secret12' }),
    )
    assert.equal(reg.status, 201)
    assert.match(String(reg.headers['set-cookie']), /^sid=/)
    assert.equal(
      (
        await call(
          shop,
          'POST',
          '/api/register',
          {},
          JSON.stringify({ username: 'newbie_1', password: 'secret12' }),
        )
      ).status,
      409,
    )
    assert.equal((await call(shop, 'POST', '/api/login', {}, '{not json')).status, 400)
  })

  it('serves the partner API only with a valid bearer key', async () => {
    const id = FIRST_USER_ID + 5
    assert.equal((await call(shop, 'GET', `/partner/v1/customers/${id}`)).status, 401)
    assert.equal(
      (await call(shop, 'GET', `/partner/v1/customers/${id}`, { authorization: 'Bearer wrong' }))
        .status,
      401,
    )
    const r = await call(shop, 'GET', `/partner/v1/customers/${id}`, {
      authorization: `Bearer ${pop.partner(0).apiKey}`,
    })
    assert.equal(r.status, 200)
    assert.deepEqual(JSON.parse(r.text), {
      userId: id,
      nickname: pop.nickname(id),
      phone: pop.phone(id),
    })
  })

  it('serves robots.txt and a health check', async () => {
    const robots = await call(shop, 'GET', '/robots.txt')
    assert.equal(robots.status, 200)
    assert.match(robots.text, /Disallow: \/api\//)
    assert.deepEqual(JSON.parse((await call(shop, 'GET', '/healthz')).text), { ok: true })
  })

  it('sees the source address a lab client binds to within 127.0.0.0/8', async () => {
    await call(shop, 'GET', '/healthz', {}, undefined, '127.5.6.7')
    assert.equal(seen.at(-1), '127.5.6.7')
  })
})
