// A fleet of 3 guards under load: 3 Fastify servers in this process, each with its own engine and
// store, fed concurrently by 3 autocannon processes (one per guard, each a different client
// address via a trusted X-Forwarded-For). Rounds alternate the memory store and the Redis store
// (RedisLedgerStore, 1 s background sync, on a redis-server this bench starts on a spare port).
// Rounds run in ABBA order (memory, Redis, then Redis, memory, ...) so a drifting load on the
// shared cores falls on both stores alike.
// Reports guarded throughput Redis/memory and Redis commands per request, read from INFO
// commandstats before and after each Redis round. Policy in shadow mode so the load is accounted
// in full but never refused. Usage: npx node bench/fleet.bench.ts
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { parseConfig } from '../src/config/index.ts'
import {
  FIELD_BIT,
  MemoryLedgerStore,
  compileCatalogue,
  compilePolicy,
  createEngine,
} from '../src/core/index.ts'
import type { Engine, Event, LedgerStore } from '../src/core/index.ts'
import { createGuard } from '../src/http/index.ts'
import { createKeyer } from '../src/keyer/index.ts'
import { harvestGuard } from '../src/middleware/fastify.ts'
import { RedisLedgerStore } from '../src/stores/redis-ledger-store.ts'
import { commandCalls, startRedis } from '../test/fleet/redis-servers.ts'
import { COMMENTS_CONFIG, commentsBody } from './support/comments-app.ts'
import { median } from './support/load.ts'

const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 5)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3)
// HTTP balancing: 'sticky' gives each guard its own client address (a balancer hashing on the
// client); 'spread' sends one client address to all 3 guards (round-robin balancing: every
// guard serves every principal, so every view is the fleet's own ∪ peers).
const BALANCE = process.env['BENCH_BALANCE'] === 'spread' ? 'spread' : 'sticky'
const CONNECTIONS = 10
const GUARDS = 3

const CONFIG = COMMENTS_CONFIG

let counter = 0
// 12 records a page (the fleet's figures since its first run were taken with 12).
const body = (itemId: string): object => commentsBody(itemId, counter++ % 5000, 12)

const config = parseConfig(CONFIG, 'bench.yaml')
const keyer = createKeyer(config.secret)
const policy = compilePolicy(config.policy as Parameters<typeof compilePolicy>[0])
const catalogue = compileCatalogue(config.routes as Parameters<typeof compileCatalogue>[0])

async function fleet(
  stores: LedgerStore[],
): Promise<{ urls: string[]; engines: Engine[]; close: () => Promise<void> }> {
  const apps: FastifyInstance[] = []
  const engines: Engine[] = []
  for (const store of stores) {
    const engine = createEngine({ policy, store })
    engines.push(engine)
    const guard = createGuard({ engine, keyer, catalogue, trustedProxies: ['127.0.0.1/32'] })
    const f = Fastify()
    await f.register(harvestGuard, { guard })
    f.get<{ Params: { itemId: string } }>('/api/items/:itemId/comments', (req, reply) => {
      reply.send(body(req.params.itemId))
    })
    await f.listen({ port: 0, host: '127.0.0.1' })
    apps.push(f)
  }
  return {
    urls: apps.map(
      (f) =>
        `http://127.0.0.1:${(f.server.address() as { port: number }).port}/api/items/42/comments`,
    ),
    engines,
    close: async () => {
      for (const f of apps) await f.close()
    },
  }
}

function autocannon(url: string, clientIp: string): Promise<{ requests: number; non2xx: number }> {
  return new Promise((resolve, reject) => {
    const bin = join(import.meta.dirname, '../node_modules/autocannon/autocannon.js')
    const child = spawn(
      process.execPath,
      [
        bin,
        '-j',
        '-c',
        String(CONNECTIONS),
        '-d',
        String(DURATION_S),
        '-H',
        `x-forwarded-for=${clientIp}`,
        url,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c))
    child.on('exit', () => {
      try {
        const r = JSON.parse(out) as { requests: { total: number }; non2xx: number }
        resolve({ requests: r.requests.total, non2xx: r.non2xx })
      } catch (e) {
        reject(e)
      }
    })
  })
}

interface Round {
  rps: number
  non2xx: number
  commands: number
}

async function round(stores: LedgerStore[], admin: Redis | undefined): Promise<Round> {
  const f = await fleet(stores)
  const before = admin === undefined ? 0 : commandCalls(await admin.info('commandstats'))
  const started = performance.now()
  const loads = await Promise.all(
    f.urls.map((url, i) => autocannon(url, `198.51.100.${BALANCE === 'sticky' ? 10 + i : 10}`)),
  )
  const seconds = (performance.now() - started) / 1000
  // one last sync so every round ends with the fleet's view published
  for (const s of stores) if (s instanceof RedisLedgerStore) await s.close()
  const after = admin === undefined ? 0 : commandCalls(await admin.info('commandstats'))
  await f.close()
  const requests = loads.reduce((a, l) => a + l.requests, 0)
  // INFO itself is a command: exclude the one issued before
  return {
    rps: requests / Math.min(seconds, DURATION_S),
    non2xx: loads.reduce((a, l) => a + l.non2xx, 0),
    commands: after - before - 1,
  }
}

// The engine alone (no HTTP): what the store itself costs per event. 3 engines in turn, 12
// records per event, a sync round on every store each SYNC_EVERY events (about one second of
// the HTTP rounds' load). 'sticky': each guard sees its own client address, the /24 is shared
// (as in the HTTP rounds); 'round-robin': every principal is seen by every guard.
const ENGINE_EVENTS = Number(process.env['BENCH_ENGINE_EVENTS'] ?? 60_000)
const SYNC_EVERY = 3000
const WORKLOADS = ['sticky', 'round-robin'] as const
const T0 = 1_800_000_000_000

function engineEvents(workload: (typeof WORKLOADS)[number]): Event[] {
  return Array.from({ length: ENGINE_EVENTS }, (_event, i) => {
    const client = workload === 'sticky' ? i % GUARDS : Math.floor(i / GUARDS) % 50
    return {
      timeMs: T0 + Math.floor(i / 3),
      method: 'GET',
      route: 'GET /api/items/:itemId/comments',
      path: '/api/items/42/comments',
      status: 200,
      bytes: 2048,
      resource: 'api',
      principals: [`ip:198.51.100.${10 + client}`, 'net:198.51.100.0/24'],
      exposures: Array.from({ length: 12 }, (_, k) => ({
        subject: 100_000 + ((i * 12 + k) % 60_000),
        fields: FIELD_BIT.id | FIELD_BIT.name | FIELD_BIT.phone,
      })),
      client: { ip: '198.51.100.10', userAgent: 'Mozilla/5.0', referer: true, anomalies: 0 },
      ordinal: -1,
    }
  })
}

async function engineRound(stores: LedgerStore[], events: Event[]): Promise<number> {
  const engines = stores.map((store) => createEngine({ policy, store }))
  const redis = stores.filter((s): s is RedisLedgerStore => s instanceof RedisLedgerStore)
  const started = performance.now()
  for (let i = 0; i < events.length; i++) {
    engines[i % GUARDS]!.observe(events[i]!)
    if (i % SYNC_EVERY === SYNC_EVERY - 1) for (const s of redis) await s.sync()
  }
  const ms = performance.now() - started
  for (const s of redis) await s.close()
  return ms
}

const redis = await startRedis()
const admin = new Redis({ host: '127.0.0.1', port: redis.port })
const clients = Array.from(
  { length: GUARDS },
  () => new Redis({ host: '127.0.0.1', port: redis.port }),
)
const memoryStores = () =>
  Array.from({ length: GUARDS }, () => new MemoryLedgerStore() as LedgerStore)
// a fresh key prefix per round: a round never starts from an earlier round's fleet state
let roundNo = 0
const redisStores = () => {
  const keyPrefix = `bench${++roundNo}:`
  return clients.map(
    (client, i) =>
      new RedisLedgerStore({
        client,
        policy,
        keyPrefix,
        guardId: `bench${i}`,
        syncIntervalMs: 1000,
      }) as LedgerStore,
  )
}

try {
  const engineRows: { workload: string; memoryMs: number; redisMs: number }[] = []
  for (const workload of WORKLOADS) {
    const events = engineEvents(workload)
    await engineRound(memoryStores(), events) // warm up
    await engineRound(redisStores(), events)
    for (let r = 1; r <= ROUNDS; r++) {
      // ABBA order (see the HTTP rounds)
      const memoryFirst = r % 2 === 1
      const a = await engineRound(memoryFirst ? memoryStores() : redisStores(), events)
      const b = await engineRound(memoryFirst ? redisStores() : memoryStores(), events)
      engineRows.push({
        workload,
        memoryMs: memoryFirst ? a : b,
        redisMs: memoryFirst ? b : a,
      })
    }
  }
  await admin.flushall()
  // warm up (JIT, pools)
  await round(memoryStores(), undefined)
  await round(redisStores(), admin)
  const httpRows: { round: number; memory: Round; redis: Round }[] = []
  for (let r = 1; r <= ROUNDS; r++) {
    // ABBA order: memory first in odd rounds, Redis first in even ones, so a load that drifts
    // during the run (other work on the shared cores) does not always fall on the same store.
    // Measured before this: with memory always first, the Redis rounds of a run whose load
    // rose went 1.38 → 0.67 of their memory partners.
    if (r % 2 === 1) {
      const memory = await round(memoryStores(), undefined)
      const red = await round(redisStores(), admin)
      httpRows.push({ round: r, memory, redis: red })
    } else {
      const red = await round(redisStores(), admin)
      const memory = await round(memoryStores(), undefined)
      httpRows.push({ round: r, memory, redis: red })
    }
  }
  console.log(
    `${GUARDS} guards (Fastify, one process) × ${CONNECTIONS} connections each from 3 autocannon processes (${BALANCE === 'sticky' ? 'sticky: one client address per guard' : 'spread: one client address sent to all 3 guards, as round-robin balancing'}), ${DURATION_S} s per round, 2 KB JSON with 12 records per response, Redis ${redis.port} (bench-owned)\n`,
  )
  console.log(
    '| round | first | memory store req/s | Redis store req/s | ratio | Redis commands | commands / request | non-2xx |',
  )
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |')
  for (const r of httpRows) {
    const requests = r.redis.rps * DURATION_S
    console.log(
      `| ${r.round} | ${r.round % 2 === 1 ? 'memory' : 'Redis'} | ${r.memory.rps.toFixed(0)} | ${r.redis.rps.toFixed(0)} | ${(r.redis.rps / r.memory.rps).toFixed(3)} | ${r.redis.commands} | ${(r.redis.commands / requests).toFixed(5)} | ${r.memory.non2xx + r.redis.non2xx} |`,
    )
  }
  const ratio = median(httpRows.map((r) => r.redis.rps / r.memory.rps))
  const perRequest = median(httpRows.map((r) => r.redis.commands / (r.redis.rps * DURATION_S)))
  console.log('\n| measure | value | target |')
  console.log('| --- | --- | --- |')
  console.log(
    `| guarded throughput Redis store / memory store (median) | ${ratio.toFixed(3)} | >= 0.95 |`,
  )
  console.log(`| Redis commands/s ÷ requests/s (median) | ${perRequest.toFixed(5)} | <= 0.05 |`)
  console.log(
    `\nEngine alone (no HTTP): ${ENGINE_EVENTS} events over ${GUARDS} engines, 12 records each, a sync round every ${SYNC_EVERY} events; rounds alternate the stores in ABBA order.\n`,
  )
  console.log('| workload | memory store ms | Redis store ms | throughput ratio |')
  console.log('| --- | --- | --- | --- |')
  for (const r of engineRows) {
    console.log(
      `| ${r.workload} | ${r.memoryMs.toFixed(0)} | ${r.redisMs.toFixed(0)} | ${(r.memoryMs / r.redisMs).toFixed(3)} |`,
    )
  }
  for (const workload of WORKLOADS) {
    const rows = engineRows.filter((r) => r.workload === workload)
    console.log(
      `\n${workload}: median engine throughput ratio Redis/memory ${median(rows.map((r) => r.memoryMs / r.redisMs)).toFixed(3)}`,
    )
  }
} finally {
  for (const c of clients) c.disconnect()
  admin.disconnect()
  await redis.stop()
}
