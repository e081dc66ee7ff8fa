// Reverse-proxy overhead: the same upstream (a node:http server in its own process returning a
// 2 KB JSON body with 14 personal records) behind (1) a plain undici reverse proxy (our proxy
// with no guard: same library, same code path), (2) `harvestguard proxy` (guard with real engine,
// keyer and catalogue; policy in shadow mode so the one load client is never blocked), and
// (3) nginx proxy_pass with upstream keepalive, when nginx is installed; BENCH_BASELINE=DIR adds
// the guarded proxy built from another checkout's src/ to the same rounds. Load from a second
// process (autocannon); alternating rounds, medians reported. Usage: npx node bench/proxy.bench.ts
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig } from '../src/config/index.ts'
import { compileCatalogue, createEngine } from '../src/core/index.ts'
import { createGuard } from '../src/http/index.ts'
import { createKeyer } from '../src/keyer/index.ts'
import { createReverseProxy } from '../src/proxy/index.ts'
import { baselineGuard, baselineModule } from './support/baseline.ts'
import { COMMENTS_CONFIG } from './support/comments-app.ts'
import { autocannon as runLoad, median, type LoadResult } from './support/load.ts'

const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 5)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5)
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

const CONFIG = COMMENTS_CONFIG

type Load = LoadResult & {
  /** CPU time of the proxy per request (this process for ours, nginx's worker for nginx). */
  cpuUsPerRequest?: number
}

function autocannon(url: string): Promise<Load> {
  return runLoad(url, CONNECTIONS, DURATION_S)
}

// CPU time (user + system, µs) of a process from /proc, or undefined where there is none.
function procCpuUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return undefined
  }
}

// nginx's worker process (the master only forks it).
function nginxWorker(master: number | undefined): number | undefined {
  if (master === undefined) return undefined
  try {
    const children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim()
    return children === '' ? undefined : Number(children.split(' ')[0])
  } catch {
    return undefined
  }
}

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

// The same guarded proxy built from another checkout's sources (BENCH_BASELINE=DIR), in the
// same rounds: before/after in one run.
const BASELINE = process.env['BENCH_BASELINE']
async function baselineProxy(dir: string): Promise<ReturnType<typeof createReverseProxy>> {
  const proxy = await baselineModule<{ createReverseProxy: typeof createReverseProxy }>(
    dir,
    'proxy/index.ts',
  )
  return proxy.createReverseProxy({
    upstream: upstreamUrl,
    guard: await baselineGuard(dir, config),
  })
}
const baseline = BASELINE === undefined ? undefined : await baselineProxy(BASELINE)
const baselineUrl =
  baseline === undefined ? undefined : (await baseline.listen('127.0.0.1', 0)) + PATH

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
  ...(baselineUrl === undefined
    ? []
    : [[`harvestguard proxy (baseline: ${BASELINE})`, baselineUrl] as [string, string]]),
  ...(nginxUrl === undefined
    ? []
    : [['nginx proxy_pass (1 worker)', nginxUrl] as [string, string]]),
]
const loadBefore = loadavg()
for (const [, url] of targets) await autocannon(url) // warm-up
const worker = nginxWorker(nginx?.pid)
const results = new Map<string, Load[]>(targets.map(([name]) => [name, []]))
for (let round = 0; round < ROUNDS; round++)
  for (const [name, url] of targets) {
    const isNginx = url === nginxUrl
    const c0 = process.cpuUsage()
    const n0 = isNginx ? procCpuUs(worker) : undefined
    const load = await autocannon(url)
    const c = process.cpuUsage(c0)
    const n1 = isNginx ? procCpuUs(worker) : undefined
    const cpu = isNginx
      ? n0 === undefined || n1 === undefined
        ? undefined
        : n1 - n0
      : c.user + c.system
    if (cpu !== undefined) load.cpuUsPerRequest = cpu / Math.max(1, load.total)
    results.get(name)!.push(load)
  }
const loadAfter = loadavg()

await plain.close()
await guarded.close()
await baseline?.close()
nginx?.kill('SIGQUIT')
upstream.kill()
rmSync(dir, { recursive: true, force: true })

const base = results.get('plain undici proxy')!
const fmtLoad = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' ')
console.log(
  `Upstream: node:http, 2 KB JSON with 14 records; ${CONNECTIONS} connections, ${DURATION_S} s per run, ${ROUNDS} alternating rounds, autocannon in a second process; ${new Date().toISOString()}, load average ${fmtLoad(loadBefore)} before, ${fmtLoad(loadAfter)} after\n`,
)
console.log(
  '| proxy | req/s per round | median req/s | vs plain undici proxy (median; per round) | median p50 ms | proxy CPU µs/req (median; per round) | errors/non-2xx |',
)
console.log('| --- | --- | --- | --- | --- | --- | --- |')
for (const [name] of targets) {
  const rs = results.get(name)!
  const ratios = rs.map((r, i) => r.rps / base[i]!.rps)
  const cpu = rs.map((r) => r.cpuUsPerRequest).filter((x): x is number => x !== undefined)
  console.log(
    `| ${name} | ${rs.map((r) => r.rps.toFixed(0)).join(', ')} | ${median(rs.map((r) => r.rps)).toFixed(0)} | ${median(ratios).toFixed(3)}; ${ratios.map((x) => x.toFixed(2)).join(', ')} | ${median(rs.map((r) => r.p50Ms))} | ${cpu.length === 0 ? 'n/a' : `${median(cpu).toFixed(0)}; ${cpu.map((x) => x.toFixed(0)).join(', ')}`} | ${rs.reduce((a, r) => a + r.non2xx, 0)} |`,
  )
}
const g = results.get('harvestguard proxy')!
console.log(
  `\nProxy CPU per request, plain / harvestguard (median of rounds): ${median(g.map((r, i) => base[i]!.cpuUsPerRequest! / r.cpuUsPerRequest!)).toFixed(3)}`,
)
console.log(
  `\nTarget: harvestguard proxy >= 0.8 x plain undici proxy. Engine events accounted: ${engine.stats.events}`,
)
if (nginxBin === undefined)
  console.log('nginx not installed: nginx row skipped (apt-get install -y nginx-light)')
