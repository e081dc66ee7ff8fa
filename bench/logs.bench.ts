// `harvestguard analyze` end to end (read, parse, engine, report) on a large nginx combined log,
// against the Node.js floors of ../shared/bench/peers (readline + split, 4 MiB chunks + indexOf)
// run with this project's Node in the same run, and optionally fail2ban's jail replay.
//
//   npx node bench/logs.bench.ts                       # the lab's everything log, 62 days (~10M lines)
//   LINES=1000000 npx node bench/logs.bench.ts         # its first 1M lines
//   SOURCE=shop npx node bench/logs.bench.ts           # the peers' shop log (gen-shop-log.mjs)
//   LOG=/path/access.log CONFIG=x.yaml npx node bench/logs.bench.ts   # any combined log
//   F2B_LINES=100000 npx node bench/logs.bench.ts      # also fail2ban on the first N lines
//   THREADS="2 1"                                      # which analyze variants run
//
// Each tool runs as its own process under /usr/bin/time (wall time from process start to exit,
// peak RSS). The log is read once before timing so every run finds it in the page cache.
// With the lab log, the report is scored against the generator's ground truth.
// Big logs are never committed: they go to $BENCH_DIR (default /tmp/hg-logs-bench).
import { spawnSync } from 'node:child_process'
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { loadLabSetup, SHOP_CONFIG_PATH } from '../src/lab/index.ts'
import type { AnalyzeJson } from '../src/report/index.ts'
import { scoreAgainstTruth, type LabTruth } from '../test/logs/support/lab-truth.ts'

const root = join(import.meta.dirname, '..')
const peers = join(root, '..', 'shared', 'bench', 'peers')
const node = process.execPath
const cli = join(root, 'bin', 'harvestguard.js')
const dir = process.env['BENCH_DIR'] ?? '/tmp/hg-logs-bench'
const sourceKind = process.env['SOURCE'] ?? 'lab'
const lines = Number(process.env['LINES'] ?? 0)
const runs = Number(process.env['RUNS'] ?? 1)
const threadVariants = (process.env['THREADS'] ?? '2 1').split(/\s+/).filter(Boolean)
mkdirSync(dir, { recursive: true })
const env = {
  ...process.env,
  HARVESTGUARD_SECRET: process.env['HARVESTGUARD_SECRET'] ?? 'bench-secret-0123456789abcdef',
}

/** The first `n` lines of `file` into `out` (once). */
function firstLines(file: string, n: number, out: string): void {
  if (existsSync(out)) return
  const fd = openSync(file, 'r')
  const fo = openSync(out, 'w')
  const buf = Buffer.allocUnsafe(1 << 22)
  let left = n
  for (;;) {
    const got = readSync(fd, buf, 0, buf.length, null)
    if (got <= 0) break
    let cut = got
    for (let i = 0; i < got; i++)
      if (buf[i] === 10 && --left === 0) {
        cut = i + 1
        break
      }
    writeSync(fo, buf, 0, cut)
    if (left === 0) break
  }
  closeSync(fd)
  closeSync(fo)
}

let config: string
let userArgs: string[] = []
let truthFile: string | undefined
let log: string
if (process.env['LOG'] !== undefined) {
  log = process.env['LOG']
  config = process.env['CONFIG'] ?? SHOP_CONFIG_PATH
  if (process.env['TRUTH'] !== undefined) truthFile = process.env['TRUTH']
  userArgs = ['--user', process.env['USER_FIELD'] ?? 'auto']
} else if (sourceKind === 'lab') {
  // issue 6: a log written by `harvestguard lab logs`, everything scenario; 62 virtual days
  // make ~10.1M lines (the adversaries are busiest on the first day)
  config = SHOP_CONFIG_PATH
  userArgs = ['--user', 'auto']
  const full = join(dir, 'lab-everything-62d.log')
  truthFile = `${full}.truth.json`
  if (!existsSync(full)) {
    console.error(`generating the lab log into ${full} (minutes) ...`)
    const r = spawnSync(
      node,
      [
        cli,
        'lab',
        'logs',
        '--scenario',
        'everything',
        '--days',
        '62',
        '--seed',
        '1',
        '--out',
        full,
        '--truth',
        truthFile,
      ],
      { stdio: 'inherit', env },
    )
    if (r.status !== 0) process.exit(1)
  }
  log = full
  if (lines > 0) {
    log = join(dir, `lab-everything-62d-head-${lines}.log`)
    firstLines(full, lines, log)
  }
} else {
  // The route catalogue of the shop in gen-shop-log.mjs: profiles expose a user, comment pages
  // twenty commenters each.
  config = join(dir, 'shop.yaml')
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
  const want = lines > 0 ? lines : 10_000_000
  log = join(dir, `shop-${want}.log`)
  if (!existsSync(log)) {
    const gen = join(peers, 'gen-shop-log.mjs')
    if (!existsSync(gen)) {
      console.error(`no log at ${log} and no generator at ${gen}`)
      process.exit(1)
    }
    console.error(`generating ${want} lines into ${log} ...`)
    const r = spawnSync(
      node,
      [gen, '--lines', String(want), '--out', log, '--truth', `${log}.truth.tsv`],
      { stdio: 'inherit' },
    )
    if (r.status !== 0) process.exit(1)
  }
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
    env,
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
const analyze = (threads: string, withJson: boolean): [string, string, string[]] => [
  `harvestguard analyze --threads ${threads}`,
  node,
  [
    cli,
    'analyze',
    '-q',
    '--threads',
    threads,
    '-c',
    config,
    ...userArgs,
    // every actor in the JSON, so that the ground-truth score sees every identity
    ...(withJson ? ['--json', json, '--benign-limit', '1000000000'] : []),
    log,
  ],
]
const tools: [string, string, string[]][] = [
  ['Node readline + split (baseline)', node, [join(peers, 'baseline-readline.mjs'), log]],
  ['Node chunked indexOf (baseline)', node, [join(peers, 'baseline-chunked.mjs'), log]],
  ...threadVariants.map((t, i) => analyze(t, i === 0)),
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
const oursName = `harvestguard analyze --threads ${threadVariants[0]}`
const ours = rate(oursName)
const fmt = new Intl.NumberFormat('en-US')
console.log(`log: ${log} (${fmt.format(n)} lines), Node ${process.version}, runs ${runs}\n`)
console.log(
  `| tool | lines/s | wall s | peak RSS MB | ours (${threadVariants[0]} threads) / this |`,
)
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
  const report = JSON.parse(readFileSync(json, 'utf8')) as AnalyzeJson
  console.log(
    `\nanalyze found: ${JSON.stringify(report.summary.actors)}; ${report.summary.decisions} decisions; malformed ${report.summary.malformed}; report ${json}`,
  )
  if (truthFile !== undefined && existsSync(truthFile) && truthFile.endsWith('.json')) {
    // the lab's ground truth: adversary identities in harvester actors, benign actors flagged
    const truth = JSON.parse(readFileSync(truthFile, 'utf8')) as LabTruth
    const setup = loadLabSetup(SHOP_CONFIG_PATH, env)
    const score = scoreAgainstTruth(report, truth, setup.keyer)
    for (const a of score.adversaries)
      console.log(
        `${a.ok ? 'ok  ' : 'MISS'} ${a.id}: ip ${a.ips[0]}/${a.ips[1]}, account ${a.accounts[0]}/${a.accounts[1]}, key ${a.keys[0]}/${a.keys[1]} in harvester actors`,
      )
    console.log(
      `benign ${score.benign}: harvester ${score.benignHarvester.length}, suspect ${score.benignSuspect.length}`,
    )
  }
}
