// Middleware overhead on Fastify: the same route returning a 2 KB JSON body with 14 personal
// records, unguarded and guarded (real engine, real keyer, catalogue body rule; the policy in
// shadow mode so the single load-generating client is accounted in full but never blocked).
// Load comes from a second process (autocannon). Runs alternate unguarded/guarded rounds in one
// process lifetime and reports the median of the rounds. Usage: npx node bench/middleware.bench.ts
// BENCH_BASELINE=DIR (a checkout of an older commit, its node_modules linked) adds a third app
// guarded by DIR's src/ to the same alternating rounds: before/after in one run.
import { spawn } from 'node:child_process'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { parseConfig } from '../src/config/index.ts'
import { compileCatalogue, createEngine } from '../src/core/index.ts'
import { createGuard, type Guard } from '../src/http/index.ts'
import { createKeyer } from '../src/keyer/index.ts'
import { harvestGuard } from '../src/middleware/fastify.ts'
import { baselineGuard, baselineModule } from './support/baseline.ts'
import { COMMENTS_CONFIG, commentsApp, commentsBody as body } from './support/comments-app.ts'
import { autocannon as load, median, type LoadResult } from './support/load.ts'

const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 5)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5)
const CONNECTIONS = 32
const CONFIG = COMMENTS_CONFIG

// Requests served per app: server CPU per request is the round's CPU time over these.
const served = new Map<FastifyInstance, () => number>()
async function app(guard: Guard | undefined, plugin = harvestGuard): Promise<FastifyInstance> {
  const a = await commentsApp(async (f) => {
    if (guard !== undefined) await f.register(plugin, { guard })
  })
  served.set(a.app, a.served)
  return a.app
}

type Load = LoadResult & {
  /** CPU time (user + system) of this process, which runs both servers, per request served. */
  readonly cpuUsPerRequest: number
}

// Load on one app, with this process's CPU time per request it served (the other app is idle
// meanwhile; autocannon runs in its own process). CPU time per request does not shrink when
// another process takes the core away, so it is the steadier comparison on a busy machine.
async function measure(f: FastifyInstance, url: string): Promise<Load> {
  const n0 = served.get(f)!()
  const c0 = process.cpuUsage()
  const result = await autocannon(url)
  const c = process.cpuUsage(c0)
  return { ...result, cpuUsPerRequest: (c.user + c.system) / Math.max(1, served.get(f)!() - n0) }
}

function autocannon(url: string): Promise<LoadResult> {
  return load(url, CONNECTIONS, DURATION_S)
}

// Sequential keep-alive requests from a second process, timed with hrtime: autocannon's
// histogram has 1 ms resolution, too coarse for a 50 µs budget. With a gap, the client waits
// that long (setTimeout) between a response and its next request: back to back, the next
// request arrives while the server is still accounting the previous response (finishSoon runs
// right after the write), so that work lands in its latency; with a gap it does not.
const LATENCY_CLIENT = `
import { Client } from 'undici'
const url = new URL(process.argv[1])
const n = Number(process.argv[2])
const gapMs = Number(process.argv[3])
const client = new Client(url.origin, { pipelining: 1 })
const xs = []
for (let i = 0; i < n; i++) {
  if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs))
  const t0 = process.hrtime.bigint()
  const r = await client.request({ path: url.pathname, method: 'GET' })
  await r.body.arrayBuffer()
  xs.push(Number(process.hrtime.bigint() - t0) / 1000)
}
await client.close()
xs.sort((a, b) => a - b)
console.log(JSON.stringify({ p50Us: xs[Math.floor(n / 2)], p99Us: xs[Math.floor(n * 0.99)] }))
`

function sequentialLatency(
  url: string,
  n: number,
  gapMs = 0,
): Promise<{ p50Us: number; p99Us: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', LATENCY_CLIENT, url, String(n), String(gapMs)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        cwd: join(import.meta.dirname, '..'),
      },
    )
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c))
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out) as { p50Us: number; p99Us: number })
      } catch (e) {
        reject(e)
      }
    })
  })
}

const config = parseConfig(CONFIG, 'bench.yaml')
const keyer = createKeyer(config.secret)
const engine = createEngine({
  policy: config.policy as Parameters<typeof createEngine>[0]['policy'],
})
const guard = createGuard({
  engine,
  keyer,
  catalogue: compileCatalogue(config.routes as Parameters<typeof compileCatalogue>[0]),
})

// The same guard built from another checkout's sources (BENCH_BASELINE), for a same-run baseline.
const BASELINE = process.env['BENCH_BASELINE']
async function baselineApp(dir: string): Promise<FastifyInstance> {
  const m = await baselineModule<{ harvestGuard: typeof harvestGuard }>(
    dir,
    'middleware/fastify.ts',
  )
  return app(await baselineGuard(dir, config), m.harvestGuard)
}

// Server-side cost of the guard alone: time begin() and finish() on the same traffic shape.
function guardMicros(n: number): number {
  const samples: number[] = []
  const facts = {
    method: 'GET',
    url: '/api/items/42/comments',
    remoteAddress: '127.0.0.1',
    headers: { host: 'x', 'user-agent': 'autocannon', accept: '*/*' },
  }
  for (let i = 0; i < n; i++) {
    const json = body('42', 10_000 + i)
    const t0 = process.hrtime.bigint()
    const gate = guard.begin(facts)
    gate.finish({ status: 200, bytes: 2048, contentType: 'application/json', json })
    samples.push(Number(process.hrtime.bigint() - t0) / 1000)
  }
  return median(samples)
}

const plain = await app(undefined)
const guarded = await app(guard)
const baseline = BASELINE === undefined ? undefined : await baselineApp(BASELINE)
const baselineUrl =
  baseline === undefined
    ? ''
    : `http://127.0.0.1:${(baseline.server.address() as { port: number }).port}/api/items/42/comments`
const plainUrl = `http://127.0.0.1:${(plain.server.address() as { port: number }).port}/api/items/42/comments`
const guardedUrl = `http://127.0.0.1:${(guarded.server.address() as { port: number }).port}/api/items/42/comments`
const size = JSON.stringify(body('42', 1)).length

// Warm up both (JIT, pools), then alternate rounds so drift hits both alike.
const loadBefore = loadavg()
await autocannon(plainUrl)
await autocannon(guardedUrl)
if (baseline !== undefined) await autocannon(baselineUrl)
const rows: { round: number; plain: Load; guarded: Load; baseline?: Load }[] = []
for (let round = 1; round <= ROUNDS; round++) {
  const p = await measure(plain, plainUrl)
  const g = await measure(guarded, guardedUrl)
  const b = baseline === undefined ? undefined : await measure(baseline, baselineUrl)
  rows.push(
    b === undefined
      ? { round, plain: p, guarded: g }
      : { round, plain: p, guarded: g, baseline: b },
  )
}
const latency: { plain: number; guarded: number }[] = []
const paced: { plain: number; guarded: number }[] = []
for (let round = 0; round < ROUNDS; round++) {
  const p = await sequentialLatency(plainUrl, 3000)
  const g = await sequentialLatency(guardedUrl, 3000)
  latency.push({ plain: p.p50Us, guarded: g.p50Us })
  const pp = await sequentialLatency(plainUrl, 2000, 1)
  const gp = await sequentialLatency(guardedUrl, 2000, 1)
  paced.push({ plain: pp.p50Us, guarded: gp.p50Us })
}
const micros = guardMicros(20_000)
await plain.close()
await guarded.close()
await baseline?.close()

const loadAfter = loadavg()
const ratio = median(rows.map((r) => r.guarded.rps / r.plain.rps))
const cpuRatio = median(rows.map((r) => r.plain.cpuUsPerRequest / r.guarded.cpuUsPerRequest))
const addedP50Us = median(rows.map((r) => (r.guarded.p50Ms - r.plain.p50Ms) * 1000))
const fmtLoad = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' ')
console.log(
  `Fastify, ${size}-byte JSON with 14 records, ${CONNECTIONS} connections, ${DURATION_S} s per run, ${ROUNDS} alternating rounds, autocannon in a second process; ${new Date().toISOString()}, load average ${fmtLoad(loadBefore)} before, ${fmtLoad(loadAfter)} after the rounds\n`,
)
console.log(
  '| round | unguarded req/s | guarded req/s | ratio | p50 unguarded ms | p50 guarded ms | server CPU µs/req unguarded | guarded | non-2xx |',
)
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
for (const r of rows)
  console.log(
    `| ${r.round} | ${r.plain.rps.toFixed(0)} | ${r.guarded.rps.toFixed(0)} | ${(r.guarded.rps / r.plain.rps).toFixed(3)} | ${r.plain.p50Ms} | ${r.guarded.p50Ms} | ${r.plain.cpuUsPerRequest.toFixed(0)} | ${r.guarded.cpuUsPerRequest.toFixed(0)} | ${r.plain.non2xx + r.guarded.non2xx} |`,
  )
console.log(`\n| measure | value | target |`)
console.log('| --- | --- | --- |')
console.log(
  `| throughput guarded / unguarded (median of rounds; rounds ${rows.map((r) => (r.guarded.rps / r.plain.rps).toFixed(2)).join(', ')}) | ${ratio.toFixed(3)} | >= 0.85 |`,
)
console.log(
  `| server CPU per request, unguarded / guarded (median of rounds; rounds ${rows.map((r) => (r.plain.cpuUsPerRequest / r.guarded.cpuUsPerRequest).toFixed(2)).join(', ')}) | ${cpuRatio.toFixed(3)} | (throughput bound when the server is CPU bound) |`,
)
console.log(
  `| server CPU added per request (median of rounds) | ${median(rows.map((r) => r.guarded.cpuUsPerRequest - r.plain.cpuUsPerRequest)).toFixed(0)} µs | |`,
)
console.log(
  `| added p50 latency, sequential keep-alive requests back to back (rounds: ${latency.map((l) => `${l.plain.toFixed(0)}→${l.guarded.toFixed(0)}`).join(', ')} µs) | ${median(latency.map((l) => l.guarded - l.plain)).toFixed(0)} µs | <= 50 µs |`,
)
console.log(
  `| added p50 latency, sequential keep-alive requests 1 ms apart (rounds: ${paced.map((l) => `${l.plain.toFixed(0)}→${l.guarded.toFixed(0)}`).join(', ')} µs) | ${median(paced.map((l) => l.guarded - l.plain)).toFixed(0)} µs | <= 50 µs |`,
)
console.log(
  `| added p50 latency under load (autocannon, 1 ms resolution) | ${addedP50Us.toFixed(0)} µs | (coarse) |`,
)
console.log(
  `| guard work per request, p50 (begin + account, in-process) | ${micros.toFixed(1)} µs | <= 50 µs |`,
)
console.log(`| engine events accounted | ${engine.stats.events} | |`)
if (BASELINE !== undefined) {
  const b = rows.map((r) => r.baseline!)
  console.log(`\nBaseline (same rounds, guard from ${BASELINE}):\n`)
  console.log('| measure | baseline guard | this guard |')
  console.log('| --- | --- | --- |')
  console.log(
    `| throughput guarded / unguarded (median of rounds; rounds baseline ${rows.map((r) => (r.baseline!.rps / r.plain.rps).toFixed(2)).join(', ')}) | ${median(rows.map((r) => r.baseline!.rps / r.plain.rps)).toFixed(3)} | ${ratio.toFixed(3)} |`,
  )
  console.log(
    `| server CPU per request, unguarded / guarded (median of rounds; rounds baseline ${rows.map((r) => (r.plain.cpuUsPerRequest / r.baseline!.cpuUsPerRequest).toFixed(2)).join(', ')}) | ${median(rows.map((r) => r.plain.cpuUsPerRequest / r.baseline!.cpuUsPerRequest)).toFixed(3)} | ${cpuRatio.toFixed(3)} |`,
  )
  console.log(
    `| server CPU added per request (median of rounds; rounds baseline ${b.map((x, i) => (x.cpuUsPerRequest - rows[i]!.plain.cpuUsPerRequest).toFixed(0)).join(', ')} µs) | ${median(rows.map((r) => r.baseline!.cpuUsPerRequest - r.plain.cpuUsPerRequest)).toFixed(0)} µs | ${median(rows.map((r) => r.guarded.cpuUsPerRequest - r.plain.cpuUsPerRequest)).toFixed(0)} µs |`,
  )
}
