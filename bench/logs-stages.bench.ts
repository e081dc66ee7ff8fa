// Where `analyze` spends its time, stage by stage, in one process on the first LINES lines of a
// log (default: the lab log of bench/logs.bench.ts): reading and parsing alone, + building Events
// (principals, routes, exposures), + the report's identities, the engine alone over Events
// already in memory, and everything on one thread. The engine's figure is the ceiling of the
// whole pipeline: with two threads the judging thread runs only the engine.
//
//   LINES=200000 npx node bench/logs-stages.bench.ts [LOG]
import { compileCatalogue, compilePolicy, createEngine, type Event } from '../src/core/index.ts'
import { loadConfigFile } from '../src/config/index.ts'
import { createKeyer } from '../src/keyer/index.ts'
import { openLogSource, ParsedLine, parseCombinedLine, readInput } from '../src/logs/index.ts'
import { IdentityTable } from '../src/report/index.ts'
import { SHOP_CONFIG_PATH } from '../src/lab/index.ts'

const log = process.argv[2] ?? '/tmp/hg-logs-bench/lab-everything-62d-head-1000000.log'
const lines = Number(process.env['LINES'] ?? 200_000)
const env = { HARVESTGUARD_SECRET: 'bench-secret-0123456789abcdef', ...process.env }
const config = loadConfigFile(process.env['CONFIG'] ?? SHOP_CONFIG_PATH, { env })
const keyer = createKeyer(config.secret)
const catalogue = compileCatalogue(config.routes as Parameters<typeof compileCatalogue>[0])
const policy = compilePolicy(config.policy as Parameters<typeof compilePolicy>[0])
const fmt = new Intl.NumberFormat('en-US')

class Stop extends Error {}

/** Visits the first `lines` events of the log (one reused Event). */
async function each(visit: (e: Event) => void): Promise<number> {
  const source = openLogSource({ files: [log], keyer, catalogue, user: 'auto' })
  let n = 0
  try {
    await source.forEach((e) => {
      if (n++ >= lines) throw new Stop()
      visit(e)
    })
  } catch (err) {
    if (!(err instanceof Stop)) throw err
  }
  return Math.min(n, lines)
}

async function parseOnly(): Promise<number> {
  const line = new ParsedLine()
  let n = 0
  let carry: Buffer | undefined
  for await (const chunk0 of readInput(log, { bytesRead: 0, totalBytes: 0, error: undefined })) {
    const chunk = carry === undefined ? chunk0 : Buffer.concat([carry, chunk0])
    let s = 0
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, s)) {
      if (parseCombinedLine(chunk, s, nl, line)) n++
      s = nl + 1
      if (n >= lines) return n
    }
    carry = Buffer.from(chunk.subarray(s))
  }
  return n
}

async function timed(name: string, run: () => Promise<number>): Promise<void> {
  const t0 = performance.now()
  const n = await run()
  const s = (performance.now() - t0) / 1000
  console.log(`| ${name} | ${fmt.format(n)} | ${s.toFixed(2)} | ${fmt.format(Math.round(n / s))} |`)
}

console.log(`log: ${log}, first ${fmt.format(lines)} lines, Node ${process.version}\n`)
console.log('| stage | lines | s | lines/s |')
console.log('|---|---:|---:|---:|')
await timed('read + parse (byte ranges)', parseOnly)
await timed('+ Events (principals, routes, exposures)', () => each(() => undefined))
await timed('+ report identities', () => {
  const t = new IdentityTable()
  return each((e) => t.addEvent(e))
})
const events: Event[] = []
await each((e) => {
  const c = { ...e, path: '' }
  events.push(c)
})
await timed('engine alone (Events in memory)', async () => {
  const engine = createEngine({ policy })
  for (const e of events) engine.observe(e)
  return events.length
})
events.length = 0
await timed('everything on one thread (read .. engine .. identities)', () => {
  const engine = createEngine({ policy })
  const t = new IdentityTable()
  return each((e) => {
    engine.observe(e)
    t.addEvent(e)
  })
})
