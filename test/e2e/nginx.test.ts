// Real nginx (Debian package) in front of a small shop, asking `harvestguard serve` through
// auth_request with the shipped examples/nginx/harvestguard.conf; HarvestGuard follows nginx's
// access log. Under CI=true a missing nginx fails; locally the suite skips, saying why.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { parseConfig } from '../../src/config/index.ts'
import { compileCatalogue, createEngine } from '../../src/core/index.ts'
import { createGuard } from '../../src/http/index.ts'
import { createKeyer } from '../../src/keyer/index.ts'
import { openLogSource } from '../../src/logs/index.ts'
import { createDecisionServer, type DecisionServer, feedFromLog } from '../../src/proxy/index.ts'

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p))
const skip =
  NGINX === undefined && process.env['CI'] !== 'true'
    ? 'nginx is not installed (apt-get install -y nginx-light); CI installs it'
    : false

const CONFIG = `
secret: e2e-nginx-secret-0123456789abcdef
routes:
  - route: GET /api/users/:userId
    resource: api
    ordinal: userId
    exposes:
      - subject: 'user:{userId}'
        fields: [id, name, phone]
  - route: GET /
    resource: page
journal:
  path: ':memory:'
`

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

function waitForPort(port: number, child: ChildProcess): Promise<void> {
  return new Promise((resolvePort, reject) => {
    let exited = false
    child.once('exit', (code) => {
      exited = true
      reject(new Error(`nginx exited with ${code}`))
    })
    const attempt = (): void => {
      if (exited) return
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolvePort()
      })
      socket.once('error', () => setImmediate(attempt))
    }
    attempt()
  })
}

const BROWSER = {
  'user-agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'accept-language': 'zh-CN,zh;q=0.9',
  accept: 'application/json',
}

describe('nginx auth_request in front of the shop', { skip }, () => {
  assert.ok(NGINX, 'CI=true but nginx is missing: install nginx-light')
  const dir = mkdtempSync(join(tmpdir(), 'hg-nginx-'))
  const logPath = join(dir, 'access.log')
  let shop: Server
  let decision: DecisionServer
  let nginx: ChildProcess
  let base: string
  const abort = new AbortController()
  let feeding: Promise<number>

  before(async () => {
    shop = createServer((req, res) => {
      const m = /^\/api\/users\/(\d+)/.exec(req.url ?? '')
      res.setHeader('content-type', m === null ? 'text/html' : 'application/json')
      res.end(
        m === null
          ? '<html>shop</html>'
          : JSON.stringify({
              id: Number(m[1]),
              name: '李雷',
              phone: `138${m[1]!.padStart(8, '0')}`,
            }),
      )
    })
    await new Promise<void>((r) => shop.listen(0, '127.0.0.1', r))
    const shopPort = (shop.address() as AddressInfo).port

    const config = parseConfig(CONFIG, 'e2e.yaml')
    const keyer = createKeyer(config.secret)
    const catalogue = compileCatalogue(config.routes as Parameters<typeof compileCatalogue>[0])
    const engine = createEngine({
      policy: config.policy as Parameters<typeof createEngine>[0]['policy'],
    })
    const guard = createGuard({ engine, keyer, catalogue })
    decision = createDecisionServer({ guard })
    const hgUrl = await decision.listen('127.0.0.1', 0)
    const hgPort = Number(new URL(hgUrl).port)

    writeFileSync(logPath, '')
    feeding = feedFromLog(
      engine,
      openLogSource({
        files: [logPath],
        follow: true,
        format: 'combined',
        keyer,
        catalogue,
        signal: abort.signal,
        pollMs: 20,
      }),
    ).catch(() => 0)

    const nginxPort = await freePort()
    const example = readFileSync(
      resolve(import.meta.dirname, '../../examples/nginx/harvestguard.conf'),
      'utf8',
    )
      .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${shopPort};`)
      .replace('server 127.0.0.1:8787;', `server 127.0.0.1:${hgPort};`)
      .replace('listen 127.0.0.1:8081;', `listen 127.0.0.1:${nginxPort};`)
      .replaceAll('/var/log/nginx/shop.access.log', logPath)
    assert.match(example, new RegExp(`127\\.0\\.0\\.1:${shopPort}`))
    writeFileSync(join(dir, 'harvestguard.conf'), example)
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/harvestguard.conf;
}
`,
    )
    nginx = spawn(NGINX!, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
    await waitForPort(nginxPort, nginx)
    base = `http://127.0.0.1:${nginxPort}`
  })

  after(async () => {
    nginx?.kill('SIGQUIT')
    abort.abort()
    await feeding
    await decision?.close()
    await new Promise<void>((r) => (shop ? shop.close(() => r()) : r()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('lets a person through to the shop', async () => {
    const res = await fetch(`${base}/`, { headers: { ...BROWSER, accept: 'text/html' } })
    assert.equal(res.status, 200)
    assert.equal(await res.text(), '<html>shop</html>')
    const user = await fetch(`${base}/api/users/7`, { headers: BROWSER })
    assert.equal(user.status, 200)
    assert.equal(((await user.json()) as { id: number }).id, 7)
  })

  it('stops a harvester enumerating users well before 1,000 records, with reasons', async (t) => {
    let served = 0
    let denied: Response | undefined
    for (let id = 1000; id < 4000 && denied === undefined; id++) {
      const res = await fetch(`${base}/api/users/${id}`, {
        headers: { 'user-agent': 'python-requests/2.31.0', accept: '*/*' },
      })
      if (res.status === 200) {
        served++
        await res.arrayBuffer()
      } else denied = res
    }
    assert.ok(denied !== undefined, `never stopped after ${served} records`)
    assert.ok(served < 1000, `served ${served} records before stopping`)
    assert.ok([401, 403, 429].includes(denied.status), `status ${denied.status}`)
    assert.match(denied.headers.get('content-type') ?? '', /problem\+json/)
    const problem = (await denied.json()) as { status: number; reasons: string[] }
    assert.equal(problem.status, denied.status)
    assert.ok(problem.reasons.length > 0)
    t.diagnostic(`stopped after ${served} records: ${denied.status} ${problem.reasons.join(',')}`)
  })

  it('keeps denying the harvester whatever X-Forwarded-For it sends', async () => {
    const res = await fetch(`${base}/api/users/5000`, {
      headers: { 'user-agent': 'python-requests/2.31.0', 'x-forwarded-for': '198.51.100.23' },
    })
    assert.notEqual(res.status, 200)
    await res.arrayBuffer()
  })
})
