// Reverse-proxy overhead: the same upstream (a node:http server in its own process returning a
// 2 KB JSON body with 14 personal records) behind (1) a plain undici reverse proxy (our proxy
// with no guard: same library, same code path), (2) `harvestguard proxy` (guard with real engine,
// keyer and catalogue; policy in shadow mode so the one load client is never blocked), and
// (3) nginx proxy_pass with upstream keepalive, when nginx is installed. Load from a second
// process (autocannon); alternating rounds, medians reported. Usage: npx node bench/proxy.bench.ts
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig } from '../src/config/index.ts'
import { compileCatalogue, createEngine } from '../src/core/index.ts'
import { createGuard } from '../src/http/index.ts'
import { createKeyer } from '../src/keyer/index.ts'
import { createReverseProxy } from '../src/proxy/index.ts'

const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 5)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3)
const CONNECTIONS = 32
const PATH = '/api/items/42/comments'

const UPSTREAM = `
import { createServer } from 'node:http'
let page = 0
const server = createServer((req, res) => {
  const p = page++ % 5000
  const body = JSON.stringify({ itemId: '42', page: p, comments: Array.from({ length: 14 }, (_, i) => ({
    userId: 100000 + p * 14 + i, nickname: '买家' + p + '-' + i, phone: '139' + String(p * 14 + i).padStart(8, '0'),
    text: 'Good value, arrived quickly, would buy again (' + i + ')' })) })
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
})
server.keepAliveTimeout = 30000
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
`

const CONFIG = `
secret: bench-secret-0123456789abcdef
policy:
  shadow: true
routes:
  - route: GET /api/items/:itemId/comments
    resource: api
    exposes:
      - each: '$.comments[*]'
        subject: 'user:{.userId}'
        fields: { id: '.userId', name: '.nickname', phone: '.phone', comment: '.text' }
`

interface Load {
  readonly rps: number
  readonly p50Ms: number
  readonly non2xx: number
}

function autocannon(url: string): Promise<Load> {
  return new Promise((resolve, reject) => {
    const bin = join(import.meta.dirname, '../node_modules/autocannon/autocannon.js')
    const child = spawn(
      process.execPath,
      [bin, '-j', '-c', String(CONNECTIONS), '-d', String(DURATION_S), url],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    )
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c))
    child.on('exit', () => {
      try {
        const r = JSON.parse(out) as {
          requests: { average: number }
          latency: { p50: number }
          non2xx: number
          errors: number
        }
        resolve({ rps: r.requests.average, p50Ms: r.latency.p50, non2xx: r.non2xx + r.errors })
      } catch (e) {
        reject(e)
      }
    })
  })
}

const median = (xs: number[]): number => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)]!

function waitForPort(port: number): Promise<void> {
  return new Promise((resolve) => {
    const attempt = (): void => {
      const s = connect(port, '127.0.0.1')
      s.once('connect', () => {
        s.destroy()
        resolve()
      })
      s.once('error', () => setTimeout(attempt, 20))
    }
    attempt()
  })
}

// Upstream in its own process, so proxies and upstream do not share an event loop.
const upstream = spawn(process.execPath, ['--input-type=module', '-e', UPSTREAM], {
  stdio: ['ignore', 'pipe', 'inherit'],
})
const upstreamPort = await new Promise<number>((resolve) =>
  upstream.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))),
)
const upstreamUrl = `http://127.0.0.1:${upstreamPort}`

const config = parseConfig(CONFIG, 'bench.yaml')
const engine = createEngine({
  policy: config.policy as Parameters<typeof createEngine>[0]['policy'],
})
const guard = createGuard({
  engine,
  keyer: createKeyer(config.secret),
  catalogue: compileCatalogue(config.routes as Parameters<typeof compileCatalogue>[0]),
})
const plain = createReverseProxy({ upstream: upstreamUrl })
const guarded = createReverseProxy({ upstream: upstreamUrl, guard })
const plainUrl = (await plain.listen('127.0.0.1', 0)) + PATH
const guardedUrl = (await guarded.listen('127.0.0.1', 0)) + PATH

let nginx: ChildProcess | undefined
let nginxUrl: string | undefined
const nginxBin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p))
const dir = mkdtempSync(join(tmpdir(), 'hg-bench-nginx-'))
if (nginxBin !== undefined) {
  const probe = createServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>((r) => probe.close(() => r()))
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f;
  uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server { listen 127.0.0.1:${port};
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
`,
  )
  nginx = spawn(nginxBin, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
  await waitForPort(port)
  nginxUrl = `http://127.0.0.1:${port}${PATH}`
}

const targets: [string, string][] = [
  ['plain undici proxy', plainUrl],
  ['harvestguard proxy', guardedUrl],
  ...(nginxUrl === undefined
    ? []
    : [['nginx proxy_pass (1 worker)', nginxUrl] as [string, string]]),
]
for (const [, url] of targets) await autocannon(url) // warm-up
const results = new Map<string, Load[]>(targets.map(([name]) => [name, []]))
for (let round = 0; round < ROUNDS; round++)
  for (const [name, url] of targets) results.get(name)!.push(await autocannon(url))

await plain.close()
await guarded.close()
nginx?.kill('SIGQUIT')
upstream.kill()
rmSync(dir, { recursive: true, force: true })

const base = results.get('plain undici proxy')!
console.log(
  `Upstream: node:http, 2 KB JSON with 14 records; ${CONNECTIONS} connections, ${DURATION_S} s per run, ${ROUNDS} alternating rounds, autocannon in a second process\n`,
)
console.log(
  '| proxy | req/s per round | median req/s | vs plain undici proxy | median p50 ms | errors/non-2xx |',
)
console.log('| --- | --- | --- | --- | --- | --- |')
for (const [name] of targets) {
  const rs = results.get(name)!
  const ratios = rs.map((r, i) => r.rps / base[i]!.rps)
  console.log(
    `| ${name} | ${rs.map((r) => r.rps.toFixed(0)).join(', ')} | ${median(rs.map((r) => r.rps)).toFixed(0)} | ${median(ratios).toFixed(3)} | ${median(rs.map((r) => r.p50Ms))} | ${rs.reduce((a, r) => a + r.non2xx, 0)} |`,
  )
}
console.log(
  `\nTarget: harvestguard proxy >= 0.8 x plain undici proxy. Engine events accounted: ${engine.stats.events}`,
)
if (nginxBin === undefined)
  console.log('nginx not installed: nginx row skipped (apt-get install -y nginx-light)')
