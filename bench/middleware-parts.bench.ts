// Where the guard's server cost goes: the comments route of bench/middleware.bench.ts served by
// several Fastify apps in one process, each with part of the guard, under the same load
// (autocannon in a second process), alternating rounds; reported as this process's CPU time per
// request served, and the guard's own time measured inside the server with hrtime.
//
//   plain      no guard
//   spin-5us   an onRequest hook that busy-waits 5 µs: what 5 µs of work on the request path
//              costs this server, to read the others against
//   hooks      the plugin's three hooks (onRequest, preSerialization, onSend), empty: what
//              Fastify charges for hooking in at all
//   begin      the request side only: principals, route match, judging (no response hooks)
//   no-engine  the whole plugin with an engine that accounts nothing (body rule, keyed digests,
//              hooks, deferred finish; no ledgers)
//   full       the whole plugin (as bench/middleware.bench.ts guards it)
//   timed      the whole plugin with begin, finish and engine.observe timed in the server
//
// Usage: npx node bench/middleware-parts.bench.ts   (BENCH_ROUNDS, BENCH_DURATION_S override)
import { loadavg } from 'node:os'
import type { FastifyInstance } from 'fastify'
import { parseConfig } from '../src/config/index.ts'
import { compileCatalogue, createEngine, type Engine, type Event } from '../src/core/index.ts'
import { createGuard, nodeRequestFacts, type Gate, type Guard } from '../src/http/index.ts'
import { createKeyer } from '../src/keyer/index.ts'
import { harvestGuard } from '../src/middleware/fastify.ts'
import { COMMENTS_CONFIG, commentsApp } from './support/comments-app.ts'
import { autocannon, median } from './support/load.ts'

const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 4)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5)
const CONNECTIONS = 32

const config = parseConfig(COMMENTS_CONFIG, 'bench.yaml')
const keyer = createKeyer(config.secret)
type Policy = Parameters<typeof createEngine>[0]['policy']
const newGuard = (engine: Engine): Guard =>
  createGuard({
    engine,
    keyer,
    catalogue: compileCatalogue(config.routes as Parameters<typeof compileCatalogue>[0]),
  })
const newEngine = (): Engine => createEngine({ policy: config.policy as Policy })

/** Time spent in the server, per call. */
class Timer {
  ns = 0n
  calls = 0
  time<T>(fn: () => T): T {
    const t0 = process.hrtime.bigint()
    try {
      return fn()
    } finally {
      this.ns += process.hrtime.bigint() - t0
      this.calls++
    }
  }
  get us(): number {
    return this.calls === 0 ? 0 : Number(this.ns) / 1000 / this.calls
  }
}

const spin = (us: number): void => {
  const end = process.hrtime.bigint() + BigInt(us * 1000)
  while (process.hrtime.bigint() < end);
}

// An engine that accounts nothing: judging still works (no decisions are ever taken).
const quiet = newEngine()
const noEngine: Engine = Object.create(quiet, {
  observe: {
    value: (): ReturnType<Engine['observe']> => ({ action: 'allow', decision: undefined }),
  },
})

const beginTimer = new Timer()
const finishTimer = new Timer()
const observeTimer = new Timer()
const timedEngineBase = newEngine()
const timedEngine: Engine = Object.create(timedEngineBase, {
  observe: { value: (e: Event) => observeTimer.time(() => timedEngineBase.observe(e)) },
})
const timedBase = newGuard(timedEngine)
const timedGuard: Guard = {
  challenge: timedBase.challenge,
  inspectBytes: timedBase.inspectBytes,
  begin(request) {
    const gate: Gate = beginTimer.time(() => timedBase.begin(request))
    const finish = gate.finish.bind(gate)
    ;(gate as { finish: Gate['finish'] }).finish = (r) => finishTimer.time(() => finish(r))
    return gate
  },
}
const requestSide = newGuard(newEngine())
const beginOnly = new Timer()
let sink = 0

const variants: [string, { app: FastifyInstance; url: string; served: () => number }][] = [
  ['plain', await commentsApp()],
  [
    'spin-5us',
    await commentsApp((f) => {
      f.addHook('onRequest', (_q, _r, next) => {
        spin(5)
        next()
      })
    }),
  ],
  [
    'hooks',
    await commentsApp((f) => {
      f.addHook('onRequest', (_q, _r, next) => next())
      f.addHook('preSerialization', (_q, _r, payload, next) => next(null, payload))
      f.addHook('onSend', (_q, _r, payload, next) => next(null, payload))
    }),
  ],
  [
    'begin',
    await commentsApp((f) => {
      f.addHook('onRequest', (request, _r, next) => {
        sink += beginOnly.time(() => requestSide.begin(nodeRequestFacts(request.raw))).delayMs
        next()
      })
    }),
  ],
  [
    'no-engine',
    await commentsApp(async (f) => {
      await f.register(harvestGuard, { guard: newGuard(noEngine) })
    }),
  ],
  [
    'full',
    await commentsApp(async (f) => {
      await f.register(harvestGuard, { guard: newGuard(newEngine()) })
    }),
  ],
  [
    'timed',
    await commentsApp(async (f) => {
      await f.register(harvestGuard, { guard: timedGuard })
    }),
  ],
]

const loadBefore = loadavg()
for (const [, v] of variants) await autocannon(v.url, CONNECTIONS, 2) // warm-up
const cpu = new Map<string, number[]>()
const rps = new Map<string, number[]>()
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, v] of variants) {
    const n0 = v.served()
    const c0 = process.cpuUsage()
    const r = await autocannon(v.url, CONNECTIONS, DURATION_S)
    const c = process.cpuUsage(c0)
    if (r.non2xx > 0) throw new Error(`${name}: ${r.non2xx} failed requests`)
    ;(cpu.get(name) ?? cpu.set(name, []).get(name)!).push(
      (c.user + c.system) / Math.max(1, v.served() - n0),
    )
    ;(rps.get(name) ?? rps.set(name, []).get(name)!).push(r.rps)
  }
}
for (const [, v] of variants) await v.app.close()
const loadAfter = loadavg()

const plainCpu = median(cpu.get('plain')!)
const plainRps = median(rps.get('plain')!)
const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(', ')
console.log(
  `Fastify comments route (14 records), ${CONNECTIONS} connections, ${DURATION_S} s per run, ${ROUNDS} alternating rounds; ${new Date().toISOString()}, load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(1)).join(' ')} after\n`,
)
console.log(
  '| variant | server CPU µs/req (rounds) | median | added vs plain | req/s median | vs plain |',
)
console.log('| --- | --- | ---: | ---: | ---: | ---: |')
for (const [name] of variants) {
  const c = median(cpu.get(name)!)
  const r = median(rps.get(name)!)
  console.log(
    `| ${name} | ${fmt(cpu.get(name)!)} | ${c.toFixed(1)} | ${(c - plainCpu).toFixed(1)} | ${r.toFixed(0)} | ${(r / plainRps).toFixed(3)} |`,
  )
}
console.log(
  '\n| guard code, timed inside the server (hrtime; includes ~0.1 µs of timing) | µs/req |',
)
console.log('| --- | ---: |')
console.log(`| begin (variant begin: request side) | ${beginOnly.us.toFixed(1)} |`)
console.log(`| begin (variant timed) | ${beginTimer.us.toFixed(1)} |`)
console.log(
  `| finish (variant timed: body rule, keyed digests, engine) | ${finishTimer.us.toFixed(1)} |`,
)
console.log(`| of which engine.observe | ${observeTimer.us.toFixed(1)} |`)
if (sink < 0) console.log('')
