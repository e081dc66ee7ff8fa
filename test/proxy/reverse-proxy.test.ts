import assert from 'node:assert/strict'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { gunzipSync, gzipSync } from 'node:zlib'
import { WebSocket, WebSocketServer } from 'ws'
import { compileCatalogue } from '../../src/core/catalogue.ts'
import { FIELD_BIT } from '../../src/core/exposure.ts'
import { createGuard } from '../../src/http/index.ts'
import { createReverseProxy, type ReverseProxy } from '../../src/proxy/index.ts'
import { RecordingEngine, testKeyer } from '../http/support.ts'
import { commentsBody, routeSpecs } from '../middleware/suite.ts'

const BIG = Buffer.alloc(3 * 1024 * 1024, 'x')

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

/** Raw request through the proxy (fetch hides hop-by-hop headers). */
function raw(
  url: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

describe('reverse proxy', () => {
  const engine = new RecordingEngine()
  const seen: Record<string, unknown>[] = []
  let upstream: Server
  let upstreamUrl: string
  let proxy: ReverseProxy
  let url: string
  let wss: WebSocketServer

  before(async () => {
    upstream = createServer((req, res) => {
      seen.push({ ...req.headers })
      const path = req.url ?? '/'
      const m = /^\/api\/items\/(\w+)\/comments/.exec(path)
      if (m !== null) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
        res.end(gzipSync(JSON.stringify(commentsBody(m[1]!))))
      } else if (path === '/big') {
        res.writeHead(200, { 'content-type': 'text/html', 'content-length': BIG.length })
        res.end(BIG)
      } else if (path === '/echo') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' })
        req.pipe(res)
      } else if (path === '/hop') {
        res.writeHead(200, {
          connection: 'x-private',
          'x-private': 'secret',
          'keep-alive': 'timeout=99',
        })
        res.end('ok')
      } else if (path === '/hang') {
        // Never answers: the proxy's header timeout must turn this into a 504.
      } else {
        res.writeHead(404).end()
      }
    })
    wss = new WebSocketServer({ server: upstream })
    wss.on('connection', (socket) =>
      socket.on('message', (data) => socket.send(`echo:${String(data)}`)),
    )
    upstreamUrl = await listen(upstream)
    proxy = createReverseProxy({
      upstream: upstreamUrl,
      headersTimeoutMs: 300,
      guard: createGuard({
        engine,
        keyer: testKeyer(),
        catalogue: compileCatalogue(routeSpecs),
        inspectBytes: 1024 * 1024,
      }),
    })
    url = await proxy.listen('127.0.0.1', 0)
  })

  after(async () => {
    await proxy.close()
    wss.close()
    await close(upstream)
  })

  const reset = (verdict?: 'mask' | 'block'): void => {
    engine.events.length = 0
    engine.verdicts.clear()
    seen.length = 0
    if (verdict !== undefined) engine.verdicts.set('ip:127.0.0.1', verdict)
  }

  it('accounts the records of a gzip JSON response streamed through', async () => {
    reset()
    const res = await fetch(`${url}/api/items/9/comments`)
    const body = (await res.json()) as { comments: { phone: string }[] }
    assert.equal(body.comments[0]!.phone, '13810000000')
    assert.equal(engine.events.length, 1)
    assert.equal(engine.events[0]!.exposures.length, 20)
    assert.equal(engine.events[0]!.route, 'GET /api/items/:itemId/comments')
  })

  it('masks a held body, re-encodes it and fixes Content-Length', async () => {
    reset('mask')
    const r = await raw(url, '/api/items/9/comments', { 'accept-encoding': 'identity' })
    // The upstream sent gzip regardless; the raw body is gzip with a matching length.
    assert.equal(r.headers['content-encoding'], 'gzip')
    assert.equal(Number(r.headers['content-length']), r.body.length)
    assert.match(gunzipSync(r.body).toString(), /"phone":"138\*\*\*\*0000"/)
    const res = await fetch(`${url}/api/items/9/comments`)
    const text = await res.text()
    assert.match(text, /"phone":"138\*\*\*\*0000"/)
    assert.ok(engine.events.at(-1)!.exposures.every((e) => e.fields === FIELD_BIT.comment))
  })

  it('streams a body larger than the inspection cap intact', async () => {
    reset('mask')
    const res = await fetch(`${url}/big`)
    const body = Buffer.from(await res.arrayBuffer())
    assert.equal(body.length, BIG.length)
    assert.ok(body.equals(BIG))
  })

  it('streams a request body to the upstream', async () => {
    reset()
    const payload = Buffer.alloc(2 * 1024 * 1024, 'y')
    const res = await fetch(`${url}/echo`, { method: 'POST', body: payload })
    const back = Buffer.from(await res.arrayBuffer())
    assert.ok(back.equals(payload))
  })

  it('drops hop-by-hop headers both ways and adds X-Forwarded-For', async () => {
    reset()
    const r = await raw(url, '/hop', {
      connection: 'x-drop',
      'x-drop': '1',
      'x-keep': '2',
      te: 'trailers',
    })
    assert.equal(r.status, 200)
    assert.equal(r.headers['x-private'], undefined)
    assert.notEqual(r.headers['keep-alive'], 'timeout=99')
    const got = seen[0]!
    assert.equal(got['x-drop'], undefined)
    assert.equal(got['te'], undefined)
    assert.equal(got['x-keep'], '2')
    assert.equal(got['x-forwarded-for'], '127.0.0.1')
  })

  it('answers 504 when the upstream does not answer in time, and keeps serving', async () => {
    reset()
    const res = await fetch(`${url}/hang`)
    assert.equal(res.status, 504)
    assert.match(res.headers.get('content-type')!, /problem\+json/)
    await res.arrayBuffer()
    const ok = await fetch(`${url}/api/items/1/comments`)
    assert.equal(ok.status, 200)
    await ok.arrayBuffer()
  })

  it('answers 502 when the upstream is down', async () => {
    const dead = createServer()
    const deadUrl = await listen(dead)
    await close(dead)
    const p = createReverseProxy({ upstream: deadUrl })
    const u = await p.listen('127.0.0.1', 0)
    const res = await fetch(`${u}/x`)
    assert.equal(res.status, 502)
    await res.arrayBuffer()
    await p.close()
  })

  it('passes WebSockets through, and refuses the upgrade for a blocked client', async () => {
    reset()
    const ws = new WebSocket(`${url.replace('http', 'ws')}/socket`)
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('hi'))
      ws.on('message', (d) => resolve(String(d)))
      ws.on('error', reject)
    })
    assert.equal(reply, 'echo:hi')
    ws.close()
    reset('block')
    const blocked = new WebSocket(`${url.replace('http', 'ws')}/socket`)
    const status = await new Promise<number>((resolve) => {
      blocked.on('unexpected-response', (_req, res) => resolve(res.statusCode!))
      blocked.on('error', () => resolve(-1))
    })
    assert.equal(status, 403)
  })

  it('ignores X-Forwarded-For sent by the client', async () => {
    reset('block')
    const res = await fetch(`${url}/api/items/1/comments`, {
      headers: { 'x-forwarded-for': '198.51.100.7' },
    })
    assert.equal(res.status, 403)
    await res.arrayBuffer()
    assert.equal(engine.events[0]!.client.ip, '127.0.0.1')
  })

  it('refuses to listen beyond loopback unless told to', async () => {
    const p = createReverseProxy({ upstream: upstreamUrl })
    await assert.rejects(p.listen('0.0.0.0', 0), /HG_PROXY_INVALID|loopback/)
    await p.close().catch(() => {})
  })
})
