// `harvestguard analyze` end to end (read, parse, engine, report) on a large nginx combined log,
// against the Node.js floors of ../shared/bench/peers (readline + split, 4 MiB chunks + indexOf)
// run with this project's Node in the same run, and optionally fail2ban's jail replay.
//
//   npx node bench/logs.bench.ts                       # 10M lines (generated into /tmp once)
//   LINES=1000000 npx node bench/logs.bench.ts         # smaller
//   LOG=/path/access.log npx node bench/logs.bench.ts  # any combined log
//   F2B_LINES=100000 npx node bench/logs.bench.ts      # also fail2ban on the first N lines
//
// Each tool runs as its own process under /usr/bin/time (wall time from process start to exit,
// peak RSS). The log is read once before timing so every run finds it in the page cache.
// Big logs are never committed: they go to $BENCH_DIR (default /tmp/hg-logs-bench).
import { spawnSync } from 'node:child_process'
import { createReadStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const peers = join(root, '..', 'shared', 'bench', 'peers')
const node = process.execPath
const dir = process.env['BENCH_DIR'] ?? '/tmp/hg-logs-bench'
const lines = Number(process.env['LINES'] ?? 10_000_000)
const runs = Number(process.env['RUNS'] ?? 1)
mkdirSync(dir, { recursive: true })

// The route catalogue of the shop in gen-shop-log.mjs: profiles expose a user, comment pages
// twenty commenters each.
const config = join(dir, 'shop.yaml')
writeFileSync(
  config,
  `secret: 'bench-secret-0123456789abcdef'
routes:
  - route: GET /user/:userId
    resource: page
    ordinal: userId
    exposes:
      - subject: 'user:{userId}'
        fields: [id, name, city]
  - route: GET /item/:itemId/comments
    resource: page
    exposes:
      - each: '$.comments[*]'
        subject: 'user:{.userId}'
        fields: { id: '.userId', name: '.nickname', comment: '.text' }
        count: 20
        key: 'comments:{itemId}:{?page}'
`,
)

let log = process.env['LOG'] ?? join(dir, `shop-${lines}.log`)
if (!existsSync(log)) {
  const gen = join(peers, 'gen-shop-log.mjs')
  if (!existsSync(gen)) {
    console.error(`no log at ${log} and no generator at ${gen}`)
    process.exit(1)
  }
  console.error(`generating ${lines} lines into ${log} ...`)
  const r = spawnSync(
    node,
    [gen, '--lines', String(lines), '--out', log, '--truth', `${log}.truth.tsv`],
    {
      stdio: 'inherit',
    },
  )
  if (r.status !== 0) process.exit(1)
}

async function warm(file: string): Promise<number> {
  let n = 0
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 22 }))
    for (let i = (chunk as Buffer).indexOf(10); i >= 0; i = (chunk as Buffer).indexOf(10, i + 1))
      n++
  return n
}

interface Run {
  readonly name: string
  readonly wallS: number
  readonly rssMb: number
  readonly out: string
}

function timed(name: string, cmd: string, args: string[]): Run {
  const t0 = performance.now()
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  })
  const wallS = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr.slice(-2000)}`)
  const rssKb = Number(r.stderr.trim().split('\n').at(-1))
  return { name, wallS, rssMb: rssKb / 1024, out: r.stdout }
}

function median(xs: number[]): number {
  const s = xs.toSorted((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

const n = await warm(log)
const json = join(dir, 'report.json')
const tools: [string, string, string[]][] = [
  ['Node readline + split (baseline)', node, [join(peers, 'baseline-readline.mjs'), log]],
  ['Node chunked indexOf (baseline)', node, [join(peers, 'baseline-chunked.mjs'), log]],
  [
    'harvestguard analyze --threads 2',
    node,
    [join(root, 'bin', 'harvestguard.js'), 'analyze', '-q', '-c', config, '--json', json, log],
  ],
  [
    'harvestguard analyze --threads 1',
    node,
    [join(root, 'bin', 'harvestguard.js'), 'analyze', '-q', '--threads', '1', '-c', config, log],
  ],
]
const results = new Map<string, Run[]>()
for (let r = 0; r < runs; r++)
  for (const [name, cmd, args] of tools) {
    const run = timed(name, cmd, args)
    results.set(name, [...(results.get(name) ?? []), run])
  }

const f2bLines = Number(process.env['F2B_LINES'] ?? 0)
let f2b: Run | undefined
let f2bN = 0
if (f2bLines > 0) {
  const py = spawnSync('/usr/bin/python3', ['-c', 'import fail2ban'], { encoding: 'utf8' })
  if (py.status === 0) {
    const head = join(dir, `head-${f2bLines}.log`)
    const text = readFileSync(log)
    let cut = 0
    for (let k = 0; k < f2bLines && cut >= 0; k++) cut = text.indexOf(10, cut + 1)
    writeFileSync(head, text.subarray(0, cut < 0 ? text.length : cut + 1))
    f2bN = await warm(head)
    f2b = timed('fail2ban 1.0.2 jail http-harvest-pages', '/usr/bin/python3', [
      join(peers, 'f2b-replay.py'),
      '--jail-conf',
      join(peers, 'fail2ban', 'jail.local'),
      '--jail',
      'http-harvest-pages',
      '--log',
      head,
      '--bans',
      join(dir, 'f2b-bans.tsv'),
    ])
  } else console.error('fail2ban is not installed: skipping it')
}

const rate = (name: string): number => n / median((results.get(name) ?? []).map((x) => x.wallS))
const ours = rate('harvestguard analyze --threads 2')
const fmt = new Intl.NumberFormat('en-US')
console.log(`log: ${log} (${fmt.format(n)} lines), Node ${process.version}, runs ${runs}\n`)
console.log('| tool | lines/s | wall s | peak RSS MB | ours (2 threads) / this |')
console.log('|---|---:|---:|---:|---:|')
for (const [name] of tools) {
  const rs = results.get(name) ?? []
  const wall = median(rs.map((x) => x.wallS))
  const rss = Math.max(...rs.map((x) => x.rssMb))
  console.log(
    `| ${name} | ${fmt.format(Math.round(n / wall))} | ${wall.toFixed(2)} | ${rss.toFixed(0)} | ${(ours / (n / wall)).toFixed(2)}x |`,
  )
}
if (f2b !== undefined) {
  const r = f2bN / f2b.wallS
  console.log(
    `| ${f2b.name} (first ${fmt.format(f2bN)} lines) | ${fmt.format(Math.round(r))} | ${f2b.wallS.toFixed(2)} | ${f2b.rssMb.toFixed(0)} | ${(ours / r).toFixed(0)}x |`,
  )
}
if (existsSync(json)) {
  const report = JSON.parse(readFileSync(json, 'utf8')) as {
    summary: { actors: Record<string, number>; malformed: number }
  }
  console.log(
    `\nanalyze found: ${JSON.stringify(report.summary.actors)}; malformed ${report.summary.malformed}; report ${json}`,
  )
}
